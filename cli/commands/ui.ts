import type { Command } from 'commander'
import { render } from 'ink'
import { createElement } from 'react'
import { defaultActor } from '../../lib/api/actor.ts'
import { usage } from '../../lib/errors.ts'
import type { GlobalOptions } from '../context.ts'
import type { UiAdmin } from '../ui/admin.ts'
import { Launcher } from '../ui/launcher.tsx'
import { openRemoteAdmin } from '../ui/remote-admin.ts'

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('interactive terminal UI: watch every run live, run, pause, resume, cancel, failures, read-only')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>()
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw usage('E_NOT_A_TERMINAL', '`evolve ui` needs a terminal: use `evolve status` or `evolve run` in scripts and pipes')
      }
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
