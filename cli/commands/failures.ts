import type { Command } from 'commander'
import { afterFailures } from '../../lib/api/completion.ts'
import { AfterKeyError } from '../../lib/api/evolve.ts'
import { keyJson, keyText } from '../../lib/api/key-shape.ts'
import { usage } from '../../lib/errors.ts'
import { type GlobalOptions, withEvolve } from '../context.ts'
import { table } from '../format.ts'
import { jsonValue, positiveInt } from '../parse.ts'

export function registerFailures(program: Command): void {
  program
    .command('failures')
    .description('the objects a run could not evolve, with their errors (in key order)')
    .argument('<name>', 'migration name')
    .option('--json', 'print the page as { failures: [{ key, error, attempts, ... }], total, next }')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'))
    .option(
      '--after <key>',
      'start after this key (JSON, e.g. 42, "abc" or ["eu",42] for a composite key): the last key of the previous page',
      jsonValue('--after'),
    )
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { json?: boolean; limit?: number; after?: unknown }>()
      await withEvolve(opts, async (evolve) => {
        const page = await evolve.failurePage(name, { limit: opts.limit, after: opts.after }).catch((err: unknown) => {
          if (err instanceof AfterKeyError) throw badAfter(err)
          throw err
        })
        const { failures, total, next } = page
        if (opts.json) {
          // The page as evolve.failurePage() gives it: how many in all, and the next page's --after.
          console.log(JSON.stringify({ failures, total, next }, keyJson, 2))
          return
        }
        if (failures.length === 0) {
          console.log(
            total === 0 ? `${name}: no failed objects` : `${name}: no failed objects after ${keyText(opts.after)} (${total} in all)`,
          )
          return
        }
        console.log(table([['KEY', 'ATTEMPTS', 'ERROR'], ...failures.map((f) => [keyText(f.key), String(f.attempts), f.error])]))
        const listed = failures.length < total ? ` (${failures.length} listed here)` : ''
        console.log(`${total} failed${listed}: ${afterFailures(name)}`)
        if (next !== null) console.log(`next page: evolve failures ${name} --limit ${opts.limit} --after ${shellQuoted(keyText(next))}`)
      })
    })
}

/** `--after` with the wrong shape for the run's keys, said with the form the flag takes. */
function badAfter(err: AfterKeyError): Error {
  const form = err.parts === 1 ? 'a single value: the key has one column' : `${err.parts} parts, one per key column, as a JSON array`
  return usage(
    'E_BAD_FLAG',
    `--after ${shellQuoted(keyText(err.found))} is not a key of ${err.run}: give ${form}, e.g. --after ${shellQuoted(keyText(err.example))}`,
  )
}

/** A JSON key as a shell word: bare when it is a number or plain word, else in single quotes. */
function shellQuoted(text: string): string {
  return /^[\w.-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}
