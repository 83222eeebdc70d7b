import type { Knex } from 'knex'
import { quoteTable } from '../snapshot-ddl.ts'

/*
 * The copy's owner and privileges, made those of the table. The copy is created by the role
 * evolvekit runs as, so it owns it until the owner is carried: then ALTER … OWNER rewrites every
 * ACL entry naming the old owner, as grantee or grantor, as the new owner's. Privileges granted
 * to the running role while it owned the copy would so become the owner's and vanish (a grant to
 * oneself as owner changes nothing anyway): the owner goes first, the ACL after, compared entry
 * by entry with the table's, so that the swapped-in table carries exactly the table's ACL, the
 * running role's own entries included. Granting after the owner changed needs the owner's
 * privileges (a member of the owning role), which snapshot mode needs anyway (the preflight).
 */

type Rows = Record<string, unknown>[]
const q = async (db: Knex, sql: string, bindings: Knex.RawBinding[] = []): Promise<Rows> => (await db.raw(sql, bindings)).rows as Rows

/** Each (grantee, privilege) of a table's ACL (the owner's default when it has none), with whether it may be granted on. */
const ACL = `
  SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee,
         a.privilege_type AS privilege, bool_or(a.is_grantable) AS grantable
    FROM pg_class c CROSS JOIN aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) a
   WHERE c.oid = to_regclass(?) GROUP BY 1, 2`

const entryKey = (r: Record<string, unknown>) => `${String(r.grantee)} ${String(r.privilege)}`

/** The copy owned by the table's owner, with the table's privileges and no others; safe to call again. */
export async function carryOwnerAndGrants(knex: Knex, table: string, shadow: string): Promise<void> {
  const target = quoteTable(shadow)
  const [owner] = await q(
    knex,
    `SELECT quote_ident(pg_get_userbyid(t.relowner)) AS owner, t.relowner <> s.relowner AS differs
       FROM pg_class t, pg_class s WHERE t.oid = to_regclass(?) AND s.oid = to_regclass(?)`,
    [quoteTable(table), target],
  )
  if (owner?.differs) await knex.raw(`ALTER TABLE ${target} OWNER TO ${String(owner.owner)}`)
  const want = new Map((await q(knex, ACL, [quoteTable(table)])).map((r) => [entryKey(r), r]))
  const have = new Map((await q(knex, ACL, [target])).map((r) => [entryKey(r), r]))
  for (const [key, w] of want) {
    const h = have.get(key)
    if (h && (h.grantable || !w.grantable)) continue
    await knex.raw(`GRANT ${String(w.privilege)} ON ${target} TO ${String(w.grantee)}${w.grantable ? ' WITH GRANT OPTION' : ''}`)
  }
  for (const [key, h] of have) {
    const w = want.get(key)
    if (!w) await knex.raw(`REVOKE ${String(h.privilege)} ON ${target} FROM ${String(h.grantee)}`)
    else if (h.grantable && !w.grantable)
      await knex.raw(`REVOKE GRANT OPTION FOR ${String(h.privilege)} ON ${target} FROM ${String(h.grantee)}`)
  }
}
