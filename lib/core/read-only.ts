import type { Knex } from 'knex'
import type { ReadOnlyGuard } from '../dialects/dialect.ts'
import { EvolveError, usage } from '../errors.ts'
import type { ReadOnlyRow } from '../store/read-only.ts'
import { type Store, storeFor } from '../store/store.ts'
import type { WriteBypass } from './context.ts'
import { parseDuration } from './duration.ts'
import { assertCovers, conflict, heldBySnapshot, narrowing } from './read-only-conflicts.ts'
import { OFF, type ReadOnlyState, expired, toState } from './read-only-state.ts'
import { snapshotHolding } from './snapshot/names.ts'
import { togglePatiently } from './toggle-patiently.ts'

// The state's shape lives in read-only-state.ts; re-exported so the front ends' layer keeps importing it from the switch.
export type { ReadOnlyState } from './read-only-state.ts'

export interface EnableReadOnlyOptions {
  message?: string
  /** Tables to guard; default every user table (never the `evolve_*` tables). */
  tables?: string[]
  /** Turns itself off after this long: `'90s'`, `'30m'`, `'2h'`, `'1d'`, at most `'30d'` (a bare number is refused: it has no unit). */
  for?: string
  /** How long to keep trying when the app's transactions hold the tables' locks. Default 60 s. */
  patienceMs?: number
}

export const DEFAULT_READ_ONLY_MESSAGE = 'This site is read-only for maintenance; please try again in a few minutes.'
export const MAX_MESSAGE_LENGTH = 500

/**
 * Turns read-only on: triggers on the guarded tables refuse every app write (connections
 * already open included), the state row and the audit trail change in the same
 * transaction. Bad input changes nothing. `widen` (the runner's) adds tables to a switch
 * that is on for others instead of refusing.
 */
export async function enableReadOnly(
  store: Store,
  knex: Knex,
  opts: EnableReadOnlyOptions & { by: string; widen?: boolean },
): Promise<ReadOnlyState> {
  const guard = guardOf(store)
  const message = opts.message ?? DEFAULT_READ_ONLY_MESSAGE
  if (message.length > MAX_MESSAGE_LENGTH) {
    throw usage('E_READ_ONLY_MESSAGE_TOO_LONG', `the read-only message has ${message.length} characters; keep it to ${MAX_MESSAGE_LENGTH}`)
  }
  if (message.trim() === '')
    throw usage('E_READ_ONLY_MESSAGE_EMPTY', 'the read-only message is empty: say what users should know, or leave it out')
  const forMs = opts.for === undefined ? null : parseDuration(opts.for)
  const tables = opts.tables ? await checkTables(store, knex, opts.tables) : null
  await store.ensure(knex)
  return togglePatiently(store, knex, opts.patienceMs, async (trx) => {
    await guard.beginToggle(trx, LOCK_TIMEOUT_MS)
    const current = await store.readOnly.get(trx, true)
    const on = current.enabled && !expired(current)
    // A run takes someone else's switch as it is: it could not give back what it changed.
    if (opts.widen && on && current.by !== opts.by) {
      assertCovers(current, opts.by, tables ?? [])
      return toState(current)
    }
    let target = tables
    if (on && current.tables !== null && target !== null) {
      const missing = current.tables.filter((t) => !target!.includes(t))
      if (missing.length > 0 && !opts.widen) throw conflict(current, target)
      target = [...new Set([...current.tables, ...target])]
    } else if (on && current.tables === null) {
      // Narrowing would let the app write to tables someone made read-only: say so, change nothing.
      if (target !== null && !opts.widen) throw narrowing(current, target)
      target = null
    }
    // Turned on again while on: what is not said again stays as it was.
    const text = opts.message ?? (on ? current.message : null) ?? message
    await guard.removeAll(trx)
    await guard.install(trx, target ?? (await guard.userTables(trx)), text, current.token)
    const since = on ? current.since : 'now'
    const expiresAt = forMs === null ? (on ? current.expiresAt : null) : current.now + forMs
    await store.readOnly.set(trx, { enabled: true, message: text, tables: target, since, by: opts.by, expiresAt })
    await store.readOnly.audit(trx, opts.by, 'on', { message: text, tables: target, expiresAt })
    await guard.notify?.(trx)
    return toState(await store.readOnly.get(trx))
  })
}

/**
 * Turns read-only off: drops every guard trigger. Harmless when it is off. A snapshot run's
 * switch is refused unless `force`: the app's writes to the table would not be in its copy (the run
 * then refuses to swap it in and starts over).
 */
export async function disableReadOnly(
  store: Store,
  knex: Knex,
  opts: { by: string; patienceMs?: number; reason?: 'off' | 'expired'; force?: boolean },
): Promise<ReadOnlyState> {
  const guard = guardOf(store)
  if (!(await store.readOnly.exists(knex))) return OFF
  // Refused at once, without waiting for locks; and again inside, where the switch is locked.
  const refuse = (row: ReadOnlyRow) => {
    const snapshot = snapshotHolding(row.by)
    if (row.enabled && snapshot && row.by !== opts.by && !opts.force) throw heldBySnapshot(row, snapshot)
  }
  refuse(await store.readOnly.get(knex))
  return togglePatiently(store, knex, opts.patienceMs, async (trx) => {
    await guard.beginToggle(trx, LOCK_TIMEOUT_MS)
    const current = await store.readOnly.get(trx, true)
    refuse(current)
    // Dropped even when the row says off: a toggle that died half-way must not leave one behind.
    await guard.removeAll(trx)
    if (!current.enabled) return OFF
    if (opts.reason === 'expired' && !expired(current)) return toState(current) // turned on again meanwhile
    await store.readOnly.set(trx, { enabled: false, message: null, tables: null, since: null, by: null, expiresAt: null })
    await store.readOnly.audit(trx, opts.by, opts.reason ?? 'off', { message: current.message, tables: current.tables, by: current.by })
    await guard.notify?.(trx)
    return OFF
  })
}

/** The switch as stored; if its `--for` has run out it is turned off first (whoever looks does it). */
export async function readOnlyStatus(store: Store, knex: Knex): Promise<ReadOnlyState> {
  if (!(await store.readOnly.exists(knex))) return OFF
  const row = await store.readOnly.get(knex)
  if (row.enabled && expired(row)) return disableReadOnly(store, knex, { by: 'expiry', reason: 'expired' })
  return toState(row)
}

/**
 * Runs `fn` with its writes let through read-only mode: the runner's batches and snapshot
 * copies use it. Given a transaction, the bypass lasts until that transaction ends; given
 * a knex instance, `fn` runs in a new transaction. An app connection cannot switch it on
 * by accident: it must show the secret token kept in the state row.
 *
 * @example
 * ```ts
 * await withWriteBypass(knex, (trx) => trx('items').update({ price: 0 }))
 * ```
 */
export async function withWriteBypass<T>(db: Knex | Knex.Transaction, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if (!(db as Knex.Transaction).isTransaction) {
    // The token is read before the transaction opens: on SQLite a transaction that reads and then
    // writes fails at once (SQLITE_BUSY) when another connection wrote in between.
    const bypass = await writeBypassFor(storeFor(db as Knex), db as Knex)
    return (db as Knex).transaction((trx) => (bypass ? bypass(trx, () => fn(trx)) : fn(trx)))
  }
  const trx = db as Knex.Transaction
  const store = storeFor(trx as unknown as Knex)
  const bypass = await writeBypassFor(store, trx as unknown as Knex)
  return bypass ? bypass(trx, () => fn(trx)) : fn(trx)
}

/** The runner's bypass, bound to the token (which never changes); undefined without tracking tables or a guard. */
export async function writeBypassFor(store: Store, knex: Knex): Promise<WriteBypass | undefined> {
  const guard = store.dialect.readOnlyGuard
  if (!guard || !(await store.readOnly.exists(knex))) return undefined
  const { token } = await store.readOnly.get(knex)
  return Object.assign(<T>(trx: Knex.Transaction, fn: () => Promise<T>) => guard.bypass(trx, token, fn), { token })
}

/** How long one toggle's DDL may wait for a table lock before it lets the app through and tries again. */
const LOCK_TIMEOUT_MS = 100

function guardOf(store: Store): ReadOnlyGuard {
  const guard = store.dialect.readOnlyGuard
  if (!guard) throw new EvolveError('E_READ_ONLY_UNSUPPORTED', `read-only mode is not available on ${store.dialect.name}`)
  return guard
}

async function checkTables(store: Store, knex: Knex, tables: string[]): Promise<string[]> {
  const names = [...new Set(tables.map((t) => t.trim()).filter((t) => t !== ''))]
  if (names.length === 0) throw usage('E_READ_ONLY_NO_TABLES', 'no tables named: give --tables a,b, or leave it out for every table')
  const known = await guardOf(store).userTables(knex)
  const checked: string[] = []
  for (const name of names) {
    if (/^(.*\.)?evolve_/i.test(name))
      throw usage('E_READ_ONLY_TRACKING_TABLE', `"${name}" is an evolvekit tracking table: it is never read-only`)
    if (!(await store.dialect.tableColumns(knex, name)))
      throw usage('E_READ_ONLY_UNKNOWN_TABLE', `table "${name}" does not exist: check --tables (known: ${known.join(', ') || 'none'})`)
    // Stored as the catalog spells it (SQLite finds USERS as users): the app's switch and later toggles compare names.
    const same = known.filter((k) => k.toLowerCase() === name.toLowerCase())
    checked.push(known.includes(name) || same.length !== 1 ? name : same[0]!)
  }
  // A partitioned table's rows are its partitions': they are guarded, stored and shown with it.
  const guard = guardOf(store)
  return guard.coveredTables ? guard.coveredTables(knex, [...new Set(checked)]) : [...new Set(checked)]
}
