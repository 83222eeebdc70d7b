import { hostname } from 'node:os'
import { EvolveConnectionError, EvolveError, EvolveUsageError, errorMessage } from '../lib/errors.ts'

export const EXIT = { ok: 0, runFailed: 1, usage: 2 } as const

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

/** User mistakes: one line, exit 2, no stack. Anything else is a bug or an outage: exit 1. */
export function reportError(err: unknown): number {
  const mistake = err instanceof EvolveUsageError || err instanceof EvolveConnectionError
  const exit = mistake ? EXIT.usage : EXIT.runFailed
  writeJsonError(err, exit)
  process.stderr.write(`evolve: ${errorMessage(err)}\n`)
  if (mistake) return exit
  if (process.env.EVOLVE_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`)
  else process.stderr.write('evolve: (set EVOLVE_DEBUG=1 to see the stack trace)\n')
  return exit
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
