import { EvolveConnectionError, EvolveUsageError, errorMessage } from '../lib/errors.ts'

export const EXIT = { ok: 0, runFailed: 1, usage: 2 } as const

/** User mistakes: one line, exit 2, no stack. Anything else is a bug or an outage: exit 1. */
export function reportError(err: unknown): number {
  if (err instanceof EvolveUsageError || err instanceof EvolveConnectionError) {
    process.stderr.write(`evolve: ${err.message}\n`)
    return EXIT.usage
  }
  process.stderr.write(`evolve: ${errorMessage(err)}\n`)
  if (process.env.EVOLVE_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`)
  else process.stderr.write('evolve: (set EVOLVE_DEBUG=1 to see the stack trace)\n')
  return EXIT.runFailed
}
