import type { Dialect } from '../dialects/dialect.ts'
import { EvolveConnectionError, EvolveError } from '../errors.ts'

/**
 * `err` as what a person must mend when the database failed it, not a row or evolvekit (out of
 * disk space, a read replica, a privilege the role lacks): one line, for the CLI's `evolve:` line
 * and the admin API's problem. Any other error is returned as it is.
 */
export function explainFault(dialect: Dialect, err: unknown): unknown {
  if (err instanceof EvolveError) return err
  const fault = dialect.databaseFault(err, 'setup')
  return fault === null ? err : new EvolveConnectionError(fault, { cause: err })
}
