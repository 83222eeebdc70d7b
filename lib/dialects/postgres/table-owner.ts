import type { Knex } from 'knex'
import { quoteQualified } from './introspect.ts'

/** Whether the role may act as a table's owner, who owns it, and the role asking. */
export interface OwnerCheck {
  /** The current role owns the table, or inherits its owner's privileges (a member with INHERIT, or a superuser). */
  ok: boolean
  /** The owning role's name; '' when there is no such table. */
  owner: string
  /** current_user. */
  role: string
}

/**
 * Whether the current role may do what only a table's owner may: DROP TRIGGER, ALTER TABLE,
 * ALTER … OWNER. GRANT TRIGGER lets a role create a trigger it then cannot drop, so a toggle that
 * must be undone checks this first. pg_has_role(…, 'USAGE') is PostgreSQL's own answer (a member
 * whose membership does not inherit, or who would have to SET ROLE, is not enough: evolvekit
 * never switches roles). `table` is found as every other lookup finds it (to_regclass, the
 * search path; `schema.table` split on the first dot); one that does not exist gives ok false.
 */
export async function mayActAsOwner(knex: Knex, table: string, o: { reown?: boolean } = {}): Promise<OwnerCheck> {
  return (await mayActAsOwnerOfEach(knex, [table], o))[0]!
}

/**
 * mayActAsOwner for each of `tables`, in their order, in one query. `reown`: also hand a table to
 * the owner (`ALTER … OWNER TO`, snapshot mode's copy), which PostgreSQL 16 and later allow only a
 * member that may SET ROLE to it (a membership granted WITH SET FALSE inherits, but may not).
 */
export async function mayActAsOwnerOfEach(
  knex: Knex | Knex.Transaction,
  tables: readonly string[],
  o: { reown?: boolean } = {},
): Promise<OwnerCheck[]> {
  // CASE, not AND: the 'SET' privilege type does not exist before 16, and CASE is evaluated in order.
  const { rows } = await knex.raw(
    `SELECT current_user AS role, coalesce(pg_get_userbyid(c.relowner), '') AS owner,
            coalesce(pg_has_role(current_user, c.relowner, 'USAGE')
                     AND CASE WHEN NOT ? OR current_setting('server_version_num')::int < 160000 THEN true
                              ELSE pg_has_role(current_user, c.relowner, 'SET') END, false) AS ok
       FROM unnest(?::text[]) WITH ORDINALITY AS t(name, i) LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)
      ORDER BY t.i`,
    [o.reown === true, tables.map(quoteQualified)],
  )
  return rows as OwnerCheck[]
}
