import type { Knex } from 'knex'
import { type EvolveError, usage } from '../errors.ts'
import type { ReadOnlyRow } from '../store/read-only.ts'
import type { Store } from '../store/store.ts'
import { expired } from './read-only-state.ts'

/*
 * Who may change the read-only switch when someone else holds it, and what each refusal tells
 * the operator to do. Apart from the toggles (read-only.ts): a runner checks here before its run
 * starts, long before any toggle, and the messages are most of the text.
 */

export function conflict(current: ReadOnlyRow, asked: string[]): EvolveError {
  const all = [...new Set([...(current.tables ?? []), ...asked])].join(',')
  return usage(
    'E_READ_ONLY_CONFLICT',
    `read-only is already on for ${current.tables!.join(', ')} (by ${current.by}); to widen it, name them all: evolve readonly on --tables ${all} (or leave out --tables for every table)`,
  )
}

export function narrowing(current: ReadOnlyRow, asked: string[]): EvolveError {
  return usage(
    'E_READ_ONLY_CONFLICT',
    `read-only is already on for every table (by ${current.by}); to make only ${asked.join(', ')} read-only, turn it off first (evolve readonly off), then evolve readonly on --tables ${asked.join(',')}`,
  )
}

export function heldBySnapshot(current: ReadOnlyRow, run: string): EvolveError {
  return usage(
    'E_READ_ONLY_HELD',
    `read-only is held by snapshot run "${run}" while it evolves a copy of ${current.tables?.join(', ') ?? 'its table'}: writes let in now are not in its copy, so the run would refuse to swap it in and have to start over. \`evolve cancel ${run}\` lets them in now (the table untouched); --force turns it off anyway`,
  )
}

/**
 * Refuses, before anything changes, a run (`by`) that would have to change someone else's switch
 * to guard `tables`; the toggle itself checks again (enableReadOnly with `widen`).
 */
export async function assertRunMayGuard(store: Store, knex: Knex, by: string, tables: string[]): Promise<void> {
  if (!store.dialect.readOnlyGuard || !(await store.readOnly.exists(knex))) return
  const current = await store.readOnly.get(knex)
  if (current.enabled && !expired(current) && current.by !== by) assertCovers(current, by, tables)
}

export function assertCovers(current: ReadOnlyRow, by: string, tables: string[]): void {
  const uncovered = current.tables === null ? [] : tables.filter((t) => !current.tables!.includes(t))
  if (uncovered.length === 0) return
  const all = [...new Set([...(current.tables ?? []), ...uncovered])].join(',')
  throw usage(
    'E_READ_ONLY_CONFLICT',
    `${by} needs ${uncovered.join(', ')} read-only, but read-only is on for ${current.tables!.join(', ')} by ${current.by}, who turns it off: widen it (evolve readonly on --tables ${all}) or turn it off, then run again`,
  )
}
