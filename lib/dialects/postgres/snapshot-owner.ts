import type { Knex } from 'knex'
import { type NotOwned, ROLE_REFUSAL, type Refusal } from '../snapshot-ddl.ts'
import { mayActAsOwner } from './table-owner.ts'

/*
 * Snapshot mode does what only a table's owner may: it adds and drops the read-only trigger,
 * hands the copy to the table's owner, renames both tables at the swap and drops the copy when it
 * unwinds. A role that may not found out half-way (the copy made, the app read-only), so the
 * preflight refuses it before anything changes, and a cancel that would have to unwind checks it.
 */

/** Of `tables`, the existing ones the current role may not act as the owner of. */
export async function postgresNotOwned(knex: Knex, tables: string[]): Promise<NotOwned[]> {
  const found: NotOwned[] = []
  for (const table of tables) {
    const check = await mayActAsOwner(knex, table, { reown: true })
    if (check.owner !== '' && !check.ok) found.push({ table, owner: check.owner, role: check.role })
  }
  return found
}

/** The preflight's refusal of a role that may not act as the table's owner, with the fix. */
export function ownerRefusal(n: NotOwned): Refusal {
  return {
    kind: ROLE_REFUSAL,
    name: n.role,
    fix: `may not act as the owner of ${n.table} ("${n.owner}"), as snapshot mode must (it adds and drops the read-only trigger, re-owns, renames and drops tables): run evolve as "${n.owner}" or a role that inherits it (GRANT ${n.owner} TO ${n.role}; on PostgreSQL 16 and later WITH INHERIT TRUE, SET TRUE), or run this migration in place`,
  }
}
