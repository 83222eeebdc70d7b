import { postgresReadOnlyGuard } from '../dialects/postgres/read-only-guard.ts'
import { sqliteReadOnlyGuard } from '../dialects/sqlite/read-only-guard.ts'

/**
 * True when the database refused a write because read-only mode is on: SQLSTATE 25006 on
 * PostgreSQL, the guard's ABORT on SQLite. Turn it into a friendly answer (the middleware does).
 *
 * @example
 * ```ts
 * try { await knex('orders').insert(order) } catch (err) { if (isReadOnlyError(err)) return showBanner(); throw err }
 * ```
 */
export function isReadOnlyError(err: unknown): boolean {
  return postgresReadOnlyGuard.isRefusal(err) || sqliteReadOnlyGuard.isRefusal(err)
}
