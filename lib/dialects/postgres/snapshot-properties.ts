import type { Knex } from 'knex'
import { type DependentObject, quoteIdent, quoteTable, withSuffix } from '../snapshot-ddl.ts'

/*
 * The table's own settings, which CREATE TABLE ... LIKE does not copy: storage parameters
 * (reloptions, e.g. fillfactor), per-column statistics targets and compression, UNLOGGED and the
 * replica identity.
 * (Column storage comes with LIKE ... INCLUDING STORAGE.) The first three are set when the copy is
 * created, before its rows; the replica identity once its indexes are built.
 */

type Rows = Record<string, unknown>[]
const q = async (db: Knex | Knex.Transaction, sql: string, bindings: Knex.RawBinding[] = []): Promise<Rows> =>
  (await db.raw(sql, bindings)).rows as Rows

const IDENTITY: Record<string, string> = { f: 'FULL', n: 'NOTHING' }
const COMPRESSION: Record<string, string> = { p: 'pglz', l: 'lz4' }

async function settingsOf(db: Knex | Knex.Transaction, rel: string) {
  const [t] = await q(
    db,
    `SELECT c.relpersistence = 'u' AS unlogged, array_to_string(c.reloptions, ', ') AS options, c.relreplident,
            (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid AND i.indisreplident) AS ident_index
       FROM pg_class c WHERE c.oid = to_regclass(?)`,
    [rel],
  )
  // -1 (before PostgreSQL 17) or NULL (since) is the default target.
  const stats = await q(
    db,
    `SELECT attname, attstattarget AS target FROM pg_attribute
      WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped AND attstattarget >= 0 ORDER BY attnum`,
    [rel],
  )
  // attcompression exists from PostgreSQL 14 on: read through jsonb so older servers read nothing.
  const compression = await q(
    db,
    `SELECT attname, to_jsonb(a) ->> 'attcompression' AS method FROM pg_attribute a
      WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped AND COALESCE(to_jsonb(a) ->> 'attcompression', '') <> '' ORDER BY attnum`,
    [rel],
  )
  return {
    compression,
    unlogged: Boolean(t?.unlogged),
    options: t?.options ? String(t.options) : '',
    replident: String(t?.relreplident ?? 'd'),
    identIndex: t?.ident_index,
    stats,
  }
}

/** `UNLOGGED ` when the table is: the copy is created alike. */
export async function persistenceOf(trx: Knex.Transaction, table: string): Promise<string> {
  return (await settingsOf(trx, quoteTable(table))).unlogged ? 'UNLOGGED ' : ''
}

/** On the new, empty copy (same transaction as its CREATE): storage parameters and statistics targets. */
export async function carrySettings(trx: Knex.Transaction, table: string, shadow: string): Promise<void> {
  const s = await settingsOf(trx, quoteTable(table))
  const target = quoteTable(shadow)
  if (s.options) await trx.raw(`ALTER TABLE ${target} SET (${s.options})`)
  for (const c of s.stats)
    await trx.raw(`ALTER TABLE ${target} ALTER COLUMN ${quoteIdent(String(c.attname))} SET STATISTICS ${Number(c.target)}`)
  for (const c of s.compression)
    await trx.raw(
      `ALTER TABLE ${target} ALTER COLUMN ${quoteIdent(String(c.attname))} SET COMPRESSION ${COMPRESSION[String(c.method)] ?? 'DEFAULT'}`,
    )
}

/** After the copy's indexes are built (under `suffix`): the replica identity, its index under the copy's name for it. */
export async function carryReplicaIdentity(knex: Knex, table: string, shadow: string, suffix: string): Promise<void> {
  const s = await settingsOf(knex, quoteTable(table))
  const target = quoteTable(shadow)
  if (s.replident === 'i' && s.identIndex)
    await knex.raw(`ALTER TABLE ${target} REPLICA IDENTITY USING INDEX ${quoteIdent(withSuffix(String(s.identIndex), suffix))}`)
  else if (IDENTITY[s.replident]) await knex.raw(`ALTER TABLE ${target} REPLICA IDENTITY ${IDENTITY[s.replident]}`)
}

/** What `plan` lists of these settings (only those not at their default). */
export async function settingObjects(knex: Knex, table: string): Promise<DependentObject[]> {
  const s = await settingsOf(knex, quoteTable(table))
  const objects: DependentObject[] = []
  if (s.unlogged) objects.push({ kind: 'table setting', name: 'UNLOGGED', action: 'the copy is created UNLOGGED too' })
  if (s.options) objects.push({ kind: 'table setting', name: s.options, action: 'set on the copy before its rows' })
  for (const c of s.stats)
    objects.push({ kind: 'table setting', name: `statistics target ${String(c.target)} (${String(c.attname)})`, action: 'set on the copy' })
  for (const c of s.compression)
    objects.push({
      kind: 'table setting',
      name: `compression ${COMPRESSION[String(c.method)] ?? String(c.method)} (${String(c.attname)})`,
      action: 'set on the copy',
    })
  if (s.replident === 'i' && s.identIndex)
    objects.push({
      kind: 'table setting',
      name: `REPLICA IDENTITY USING INDEX ${String(s.identIndex)}`,
      action: 'set on the copy, its index renamed at the swap',
    })
  else if (IDENTITY[s.replident])
    objects.push({ kind: 'table setting', name: `REPLICA IDENTITY ${IDENTITY[s.replident]}`, action: 'set on the copy' })
  return [...objects, ...(await notCarried(knex, quoteTable(table)))]
}

/** Settings the copy does not get: listed by `plan`, so that nobody loses one unawares (docs/snapshot-mode.md). */
async function notCarried(knex: Knex, rel: string): Promise<DependentObject[]> {
  const action = 'not carried: set it again on the table after the swap'
  const found = await q(
    knex,
    `SELECT 'TOAST storage parameters ' || array_to_string(t.reloptions, ', ') AS name
       FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.oid = to_regclass(?) AND t.reloptions IS NOT NULL
     UNION ALL
     SELECT 'column options (' || attname || ') ' || array_to_string(attoptions, ', ') FROM pg_attribute
      WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped AND attoptions IS NOT NULL
     UNION ALL
     SELECT 'extended statistics ' || stxname FROM pg_statistic_ext WHERE stxrelid = to_regclass(?)`,
    [rel, rel, rel],
  )
  return found.map((r) => ({ kind: 'table setting', name: String(r.name), action }))
}
