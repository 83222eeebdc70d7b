import type { Knex } from 'knex'
import type { Store } from '../../store/store.ts'

/*
 * The one place snapshot mode touches the read-only switch (#9, lib/core/read-only.ts).
 *
 * TODO(integrator, #9): the shim bodies below do nothing. With lib/core/read-only.ts merged,
 * replace them with (and drop READ_ONLY_WIRED, which only documents the state):
 *
 *   turnReadOnlyOn:  if (!store.dialect.readOnlyGuard) return
 *                    await enableReadOnly(store, knex, { tables: request.tables, message: request.message, by: request.by, widen: true })
 *   turnReadOnlyOff: if (!store.dialect.readOnlyGuard) return
 *                    const state = await readOnlyStatus(store, knex)
 *                    if (state.readOnly && state.by === request.by) await disableReadOnly(store, knex, { by: request.by })
 *                    (off only when this snapshot still owns the switch, as finishReadOnlyRun does)
 *   withWriteBypass: return readOnly.withWriteBypass(trx, () => fn())   (always given a transaction)
 *
 * `request.by` is `snapshot <name>`, the same in every process that resumes the run. Until then
 * the table is NOT guarded during the window: a write between the copy and the swap is caught
 * only by verify's row count (the run then stops before the swap). The swap carries the guard:
 * PostgreSQL copies every trigger of the table onto the new one, SQLite re-creates them, so the
 * guard triggers stay on `table` until read-only goes off.
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

/** Runs `fn` with writes allowed inside the transaction `trx` only (each copy range). */
export async function withWriteBypass<T>(trx: Knex.Transaction, fn: () => Promise<T>): Promise<T> {
  void trx
  return fn()
}

/** True once the real switch is wired in above (tests that need refusals skip until then). */
export const READ_ONLY_WIRED = false
