import { hostname } from 'node:os'
import { EvolveConnectionError, EvolveError, EvolveUsageError, errorMessage } from '../lib/errors.ts'

/**
 * `unavailable` is sysexits' EX_TEMPFAIL (75), which sendmail, supervisors and CI retry logic
 * know as "try again later": the database could not be reached or is unavailable for now.
 * `aborted` is 128 + SIGINT, what a shell reports for a process Ctrl-C killed.
 */
export const EXIT = { ok: 0, runFailed: 1, usage: 2, unavailable: 75, aborted: 130 } as const

/**
 * How a fatal error is also written on stdout, when the command's stdout is JSON lines that an
 * operator ships: `log` (`--log-format json`) as a pino line like the others, `events` (`--json`)
 * as an `error` event. Either way it is the last line, where a finished run writes its summary.
 */
type JsonErrors = 'log' | 'events'

let jsonErrors: JsonErrors | undefined

/** Set before the command runs, from its flags (cli/main.ts). */
export function reportErrorsAsJson(kind: JsonErrors | undefined): void {
  jsonErrors = kind
}

/**
 * User mistakes: one line, exit 2, no stack. A database unreachable or unavailable for now: one
 * line, exit 75, so CI or a supervisor can tell "retry later" from "fix the job". Anything else
 * is a bug or an outage: exit 1.
 */
export function reportError(err: unknown): number {
  const mistake = err instanceof EvolveUsageError || err instanceof EvolveConnectionError
  const exit = err instanceof EvolveConnectionError && err.transient ? EXIT.unavailable : mistake ? EXIT.usage : EXIT.runFailed
  writeJsonError(err, exit)
  process.stderr.write(`evolve: ${errorMessage(err)}\n`)
  if (mistake) return exit
  if (process.env.EVOLVE_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`)
  else process.stderr.write('evolve: (set EVOLVE_DEBUG=1 to see the stack trace)\n')
  return exit
}

/**
 * A second Ctrl-C while stopping: exit at once (the database rolls the open batch back), but
 * first end the JSON lines as a fatal error does, so whoever reads them knows why they stop.
 */
export function abortNow(): never {
  const err = new EvolveError('E_ABORTED', 'aborted by a second Ctrl-C: the database rolls back the open batch')
  writeJsonError(err, EXIT.aborted)
  process.stderr.write(`evolve: ${err.message}\n`)
  process.exit(EXIT.aborted)
}

function writeJsonError(err: unknown, exit: number): void {
  if (jsonErrors === undefined) return
  const code = err instanceof EvolveError ? err.code : null
  const error = errorMessage(err)
  const line =
    jsonErrors === 'log'
      ? // pino's fields and order (level 60: fatal), so one parser reads every line.
        {
          level: 60,
          time: Date.now(),
          pid: process.pid,
          hostname: hostname(),
          event: 'fatal',
          code,
          exitCode: exit,
          msg: `evolve: ${error}`,
        }
      : { event: 'error', at: new Date().toISOString(), code, exitCode: exit, error }
  process.stdout.write(`${JSON.stringify(line)}\n`)
}
