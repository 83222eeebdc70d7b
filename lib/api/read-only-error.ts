import { ALL_DIALECTS } from '../dialects/for-knex.ts'

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
  // No connection to ask: any dialect's refusal counts (an app may talk to both).
  return ALL_DIALECTS.some((d) => d.readOnlyGuard?.isRefusal(err) ?? false)
}

/** The operator's message a database refusal carries (what read-only was turned on with), or null. */
export function readOnlyMessageOf(err: unknown): string | null {
  for (const d of ALL_DIALECTS) {
    const message = d.readOnlyGuard?.refusalMessage(err)
    if (message) return message
  }
  return null
}
