import type { Command } from 'commander'
import { type GlobalOptions, withEvolve } from '../context.ts'

const ACTIONS = [
  { verb: 'pause', help: 'pause a run: its workers, on every machine, finish their batch and wait' },
  { verb: 'resume', help: 'let a paused or cancelled run go on' },
  { verb: 'cancel', help: 'stop a run: workers finish or roll back their batch and leave; `evolve run` resumes it' },
] as const

export function registerControl(program: Command): void {
  for (const action of ACTIONS) {
    program
      .command(action.verb)
      .description(action.help)
      .argument('<name>', 'migration name')
      .option('--reason <text>', 'why, for the run history (`status --json` shows it)')
      .action(async (name: string, _flags: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<GlobalOptions & { reason?: string }>()
        await withEvolve(opts, async (evolve) => {
          // A snapshot run with no runner left is unwound by the cancel itself: it ends the run here.
          const unwound: string[] = []
          const onEnd = (e: { run: string; error?: string | null }) => void (e.run === name && e.error && unwound.push(e.error))
          evolve.events.on('run:end', onEnd)
          const state = await evolve[action.verb](name, { reason: opts.reason }).finally(() => evolve.events.off('run:end', onEnd))
          const hint = action.verb === 'resume' ? ' (workers that are running pick it up; otherwise start `evolve run`)' : ''
          console.log(`${name}: ${state}${hint}`)
          for (const error of unwound)
            console.log(`${name}: no runner was left, so the cancel unwound it: ${error}; writes are let in again`)
        })
      })
  }
}
