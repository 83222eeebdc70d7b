import type { Command } from 'commander'
import { defaultActor } from '../../lib/api/actor.ts'
import { usage } from '../../lib/errors.ts'
import type { GlobalOptions } from '../context.ts'
import type { UiAdmin } from '../ui/admin.ts'

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('interactive terminal UI: watch every run live, run, pause, resume, cancel, failures, read-only')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>()
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw usage('E_NOT_A_TERMINAL', '`evolve ui` needs a terminal: use `evolve status` or `evolve run` in scripts and pipes')
      }
      // ink draws only the last frame where CI is set; `evolve ui` runs on a terminal (checked
      // above), where someone is watching, so it draws live whatever the environment says.
      delete process.env.CI
      delete process.env.CONTINUOUS_INTEGRATION
      // Loaded here, after that: ink reads the environment when it loads, and other commands need none of it.
      const [{ render }, { createElement }, { Launcher }, { openRemoteAdmin }] = await Promise.all([
        import('ink'),
        import('react'),
        import('../ui/launcher.tsx'),
        import('../ui/remote-admin.ts'),
      ])
      let remote: (UiAdmin & { terminate(): Promise<void> }) | null = null
      const open = async () => (remote = await openRemoteAdmin({ db: opts.db, config: opts.config, dir: opts.dir, by: defaultActor() }))
      const ink = render(createElement(Launcher, { open, onOpen: () => {} }), { exitOnCtrlC: false })
      // A signal from outside (kill, a closing terminal) stops runs the same way q does.
      const onSignal = () => void (remote?.stopAll() ?? Promise.resolve()).finally(() => ink.unmount())
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      process.once('SIGHUP', onSignal)
      try {
        await ink.waitUntilExit()
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        process.off('SIGHUP', onSignal)
        const r = remote as (UiAdmin & { terminate(): Promise<void> }) | null
        if (r) {
          await r.close().catch(() => {})
          await r.terminate()
        }
      }
    })
}
