import type { Knex } from 'knex'
import type { Store } from '../../store/store.ts'
import * as readOnly from '../read-only.ts'
import { SnapshotAbort } from './verify.ts'

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
 * The copy holds every write of the table only if read-only stayed on for it, in one unbroken
 * period, from before the copy began (`since`: the snapshot's read-only step, by the database's
 * clock) until now. A period is told by the time it began, which a toggle keeps while the switch
 * stays on and sets anew when it goes on again; and the guard's triggers refuse writes until the
 * switch is turned off, even past its `--for` (that turns it off). Otherwise the app may have
 * written rows the copy does not have (`evolve readonly off --force`, an operator's switch the
 * run shared turned off): the copy must not be swapped in. Read inside the swap's transaction, a
 * toggle cannot slip in before the commit: it has to drop or create the table's guard triggers,
 * which waits for the swap's lock on the table (SQLite: for its write transaction).
 */
export async function assertHeldSince(store: Store, db: Knex, name: string, table: string, since: number | null): Promise<void> {
  if (!store.dialect.readOnlyGuard) return
  const row = await store.readOnly.get(db)
  const covers = row.tables === null || row.tables.some((t) => t.toLowerCase() === table.toLowerCase())
  if (row.enabled && covers && since !== null && row.since !== null && row.since <= since) return
  const off = (await store.readOnly.history(db, 20)).find((a) => a.action !== 'on')
  const who = off ? ` (${off.action === 'expired' ? 'its --for ran out' : `by ${off.by}`})` : ''
  throw new SnapshotAbort(
    `read-only on ${table} was turned off during the copy${who}: the app's writes since then are not in the copy, so it was not swapped in; \`evolve run ${name}\` starts over from a fresh copy`,
  )
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
