import type { Knex } from 'knex'
import type { Store } from '../../store/store.ts'

/*
 * The one place snapshot mode touches the read-only switch (#9, lib/core/read-only.ts).
 *
 * TODO(integrator, #9): replace the three shim bodies below with calls to lib/core/read-only.ts:
 *   turnReadOnlyOn  → enableReadOnly(store, knex, { tables, by, message })
 *   turnReadOnlyOff → disableReadOnly(store, knex, { by }) — or, if the switch can hold several
 *                     tables at once, take only `tables` out of the read-only set
 *   withWriteBypass → read-only.ts's withWriteBypass(knex, fn)
 * Until then snapshot mode runs every step but the table is NOT guarded during the window:
 * writes that land between the copy and the swap are caught by verify's row count at best.
 * The swap renames the table: if the guard is attached per table (triggers), it must follow
 * the name `table` onto the new table (turnReadOnlyOn is called again right after the swap).
 */

export interface ReadOnlyRequest {
  tables: string[]
  by: string
  message: string
}

/** Writes to `tables` are refused from now on (reads keep working); safe to call again. */
export async function turnReadOnlyOn(store: Store, knex: Knex, request: ReadOnlyRequest): Promise<void> {
  void store
  void knex
  void request
}

/** Writes are accepted again; safe to call again. */
export async function turnReadOnlyOff(store: Store, knex: Knex, request: ReadOnlyRequest): Promise<void> {
  void store
  void knex
  void request
}

/** Runs `fn` with writes allowed for this connection/transaction only (the copy and the swap). */
export async function withWriteBypass<T>(knex: Knex | Knex.Transaction, fn: () => Promise<T>): Promise<T> {
  void knex
  return fn()
}

/** True once the real switch is wired in above (tests that need refusals skip until then). */
export const READ_ONLY_WIRED = false
