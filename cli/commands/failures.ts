import type { Command } from 'commander'
import { afterFailures } from '../../lib/api/completion.ts'
import { type GlobalOptions, withEvolve } from '../context.ts'
import { table } from '../format.ts'
import { jsonValue, positiveInt } from '../parse.ts'

export function registerFailures(program: Command): void {
  program
    .command('failures')
    .description('the objects a run could not evolve, with their errors (in key order)')
    .argument('<name>', 'migration name')
    .option('--json', 'print an array of { key, error, attempts, ... }')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'))
    .option('--after <key>', 'start after this key (JSON, e.g. 42 or "abc"): the last key of the previous page', jsonValue('--after'))
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { json?: boolean; limit?: number; after?: unknown }>()
      await withEvolve(opts, async (evolve) => {
        const failures = await evolve.failures(name, { limit: opts.limit, after: opts.after })
        if (opts.json) {
          console.log(JSON.stringify(failures, null, 2))
          return
        }
        if (failures.length === 0) {
          console.log(`${name}: no failed objects`)
          return
        }
        console.log(table([['KEY', 'ATTEMPTS', 'ERROR'], ...failures.map((f) => [JSON.stringify(f.key), String(f.attempts), f.error])]))
        console.log(`${failures.length} failed: ${afterFailures(name)}`)
      })
    })
}
