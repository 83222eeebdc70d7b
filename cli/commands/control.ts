import type { Command } from 'commander'
import { cancelRun, pauseRun, resumeRun } from '../../lib/api/control.ts'
import { type GlobalOptions, withSession } from '../context.ts'

const ACTIONS = [
  { verb: 'pause', fn: pauseRun, help: 'pause a run: its workers, on every machine, finish their batch and wait', after: 'paused' },
  { verb: 'resume', fn: resumeRun, help: 'let a paused or cancelled run go on', after: 'running' },
  {
    verb: 'cancel',
    fn: cancelRun,
    help: 'stop a run: workers finish or roll back their batch and leave; `evolve run` resumes it',
    after: 'cancelled',
  },
] as const

export function registerControl(program: Command): void {
  for (const action of ACTIONS) {
    program
      .command(action.verb)
      .description(action.help)
      .argument('<name>', 'migration name')
      .action(async (name: string, _flags: unknown, cmd: Command) => {
        await withSession(cmd.optsWithGlobals<GlobalOptions>(), async (s) => {
          const state = await action.fn(s.knex, name)
          const hint = action.verb === 'resume' ? ' (workers that are running pick it up; otherwise start `evolve run`)' : ''
          console.log(`${name}: ${state}${hint}`)
        })
      })
  }
}
