import type { Knex } from 'knex'
import { type DependentObject, type Refusal, type SnapshotPreflight, quoteTable } from '../snapshot-ddl.ts'
import { ownerRefusal, postgresNotOwned } from './snapshot-owner.ts'
import { settingObjects } from './snapshot-properties.ts'

type Rows = Record<string, unknown>[]

async function rows(knex: Knex, sql: string, bindings: Knex.RawBinding[]): Promise<Rows> {
  return (await knex.raw(sql, bindings)).rows as Rows
}

/**
 * Every object that depends on the table, read from the catalogs, and what the swap does with
 * each; what it cannot carry (it would dangle, keep reading the old table, or replicate the copy
 * as new rows) is refused with the fix.
 */
export async function postgresPreflight(knex: Knex, table: string): Promise<SnapshotPreflight> {
  const rel = quoteTable(table)
  const objects: DependentObject[] = []
  const refused: Refusal[] = []
  const [info] = await rows(
    knex,
    `SELECT c.relkind, pg_total_relation_size(c.oid) AS bytes, obj_description(c.oid, 'pg_class') AS comment,
            c.relrowsecurity, EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid OR inhparent = c.oid) AS inherits
       FROM pg_class c WHERE c.oid = to_regclass(?)`,
    [rel],
  )
  if (!info) return { objects, refused: [{ kind: 'table', name: table, fix: 'the table does not exist' }], extraBytes: null }
  if (info.relkind !== 'r' || info.inherits)
    refused.push({ kind: 'table', name: table, fix: 'partitioned or inherited tables cannot be swapped: run this migration in place' })
  for (const n of await postgresNotOwned(knex, [table])) refused.push(ownerRefusal(n))
  for (const r of await rows(
    knex,
    `SELECT i.indexrelid::regclass::text AS name, con.contype FROM pg_index i
       LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
      WHERE i.indrelid = to_regclass(?)`,
    [rel],
  ))
    objects.push({
      kind: r.contype ? 'constraint index' : 'index',
      name: String(r.name),
      action: 'built on the copy after the data; renamed at the swap',
    })
  for (const r of await rows(
    knex,
    `SELECT conname, conrelid::regclass::text AS child, confrelid::regclass::text AS parent, conrelid = confrelid AS self
       FROM pg_constraint WHERE contype = 'f' AND (conrelid = to_regclass(?) OR confrelid = to_regclass(?))`,
    [rel, rel],
  )) {
    const name = `${String(r.conname)} on ${String(r.child)}`
    if (r.self)
      objects.push({ kind: 'foreign key (self)', name, action: 're-created on the new table at the swap (NOT VALID), then validated' })
    else if (String(r.parent) === String(r.child)) continue
    else if (r.child === (await regclassText(knex, rel)))
      objects.push({
        kind: 'foreign key out',
        name,
        action: `added to the copy (NOT VALID, then validated) referencing ${String(r.parent)}`,
      })
    else
      objects.push({ kind: 'foreign key in', name, action: 're-pointed at the new table in the swap (NOT VALID), validated right after' })
  }
  for (const r of await rows(
    knex,
    `SELECT DISTINCT v.oid::regclass::text AS name, v.relkind FROM pg_depend d
       JOIN pg_rewrite w ON w.oid = d.objid JOIN pg_class v ON v.oid = w.ev_class
      WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = to_regclass(?) AND v.oid <> d.refobjid`,
    [rel],
  )) {
    if (r.relkind === 'v') objects.push({ kind: 'view', name: String(r.name), action: 'recreated in the swap, reading the new table' })
    else
      refused.push({
        kind: 'materialized view',
        name: String(r.name),
        fix: 'it would keep the old rows: drop it before the run and create it again after (or run this migration in place)',
      })
  }
  for (const r of await rows(knex, `SELECT rulename FROM pg_rewrite WHERE ev_class = to_regclass(?) AND rulename <> '_RETURN'`, [rel]))
    refused.push({ kind: 'rule', name: String(r.rulename), fix: 'rules are not carried: drop it, run, create it again' })
  for (const r of await rows(
    knex,
    `SELECT DISTINCT p.oid::regprocedure::text AS name FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
      WHERE d.classid = 'pg_proc'::regclass AND d.refobjid = to_regclass(?)`,
    [rel],
  ))
    refused.push({
      kind: 'function',
      name: String(r.name),
      fix: 'its body is bound to the old table (BEGIN ATOMIC): drop it, run, create it again',
    })
  for (const r of await rows(knex, `SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(?) AND NOT tgisinternal`, [rel]))
    objects.push({
      kind: 'trigger',
      name: String(r.tgname),
      action: 'created on the new table in the swap (it does not fire while the copy is evolved)',
    })
  for (const r of await rows(
    knex,
    `SELECT a.attname, pg_get_serial_sequence(?, a.attname) AS seq, a.attidentity <> '' AS identity
       FROM pg_attribute a WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped`,
    [rel, rel],
  )) {
    if (!r.seq) continue
    const action = r.identity
      ? "the new table's identity keeps this name and continues past the highest key and past the old sequence"
      : 'OWNED BY the new table, setval past the highest key'
    objects.push({ kind: 'sequence', name: `${String(r.seq)} (${String(r.attname)})`, action })
  }
  for (const r of await rows(knex, `SELECT polname FROM pg_policy WHERE polrelid = to_regclass(?)`, [rel]))
    objects.push({
      kind: 'policy',
      name: String(r.polname),
      action: 'created on the new table in the swap, row-level security switched on alike',
    })
  for (const r of await rows(
    knex,
    `SELECT COALESCE(g.rolname, 'PUBLIC') AS grantee, string_agg(a.privilege_type, ', ') AS privileges
       FROM pg_class c CROSS JOIN aclexplode(c.relacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
      WHERE c.oid = to_regclass(?) AND a.grantee <> c.relowner GROUP BY 1`,
    [rel],
  ))
    objects.push({ kind: 'grant', name: `${String(r.privileges)} to ${String(r.grantee)}`, action: 'granted on the copy' })
  for (const r of await rows(knex, `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?) AND attacl IS NOT NULL`, [rel]))
    refused.push({
      kind: 'column grant',
      name: String(r.attname),
      fix: 'column-level grants are not carried: revoke them, run, grant them again',
    })
  for (const r of await rows(
    knex,
    `SELECT p.pubname FROM pg_publication p JOIN pg_publication_rel r ON r.prpubid = p.oid WHERE r.prrelid = to_regclass(?)`,
    [rel],
  ))
    refused.push({
      kind: 'publication',
      name: String(r.pubname),
      fix: `subscribers would not follow the swap: ALTER PUBLICATION ${String(r.pubname)} DROP TABLE ${table}, run, then ADD TABLE it again and resync the subscribers (or run this migration in place)`,
    })
  objects.push(...(await settingObjects(knex, table)))
  if (info.comment !== null) objects.push({ kind: 'comment', name: table, action: 'copied (column comments too)' })
  return { objects, refused, extraBytes: Number(info.bytes) }
}

async function regclassText(knex: Knex, rel: string): Promise<string> {
  const [r] = await rows(knex, 'SELECT to_regclass(?)::text AS name', [rel])
  return String(r?.name)
}
