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
          const state = await evolve[action.verb](name, { reason: opts.reason })
          const hint = action.verb === 'resume' ? ' (workers that are running pick it up; otherwise start `evolve run`)' : ''
          console.log(`${name}: ${state}${hint}`)
        })
      })
  }
}
