import type { Knex } from 'knex'
import type { Store } from '../../store/store.ts'
import * as readOnly from '../read-only.ts'

/*
 * The one place snapshot mode touches the read-only switch (lib/core/read-only.ts). The switch
 * is taken as `snapshot <name>`, the same in every process that resumes the run, so whichever
 * process finishes the run can turn it off. The swap carries the guard: PostgreSQL copies every
 * trigger of the table onto the new one, SQLite re-creates them, so the guard stays on `table`
 * until read-only goes off.
 */

export interface ReadOnlyRequest {
  tables: string[]
  by: string
  message: string
}

/** Writes to `tables` are refused from now on (reads keep working); safe to call again. */
export async function turnReadOnlyOn(store: Store, knex: Knex, request: ReadOnlyRequest): Promise<void> {
  if (!store.dialect.readOnlyGuard) return
  await readOnly.enableReadOnly(store, knex, { tables: request.tables, message: request.message, by: request.by, widen: true })
}

/** Writes are accepted again, if this snapshot still owns the switch (an operator's stays on); safe to call again. */
export async function turnReadOnlyOff(store: Store, knex: Knex, request: ReadOnlyRequest): Promise<void> {
  if (!store.dialect.readOnlyGuard) return
  const state = await readOnly.readOnlyStatus(store, knex)
  if (state.readOnly && state.by === request.by) await readOnly.disableReadOnly(store, knex, { by: request.by })
}

/**
 * The copy's way through the guard, read once: each copy range's transaction then opens with
 * the bypass's write (SQLite: a transaction that reads first and writes later fails at once
 * when the app wrote in between).
 */
export async function writeBypass(store: Store, knex: Knex): Promise<<T>(trx: Knex.Transaction, fn: () => Promise<T>) => Promise<T>> {
  const bypass = await readOnly.writeBypassFor(store, knex)
  return (trx, fn) => (bypass ? bypass(trx, fn) : fn())
}
