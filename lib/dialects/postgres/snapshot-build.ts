import type { Knex } from 'knex'
import { quoteIdent, quoteTable, withSuffix } from '../snapshot-ddl.ts'
import { carryOwnerAndGrants } from './snapshot-grants.ts'
import { carryReplicaIdentity, carrySettings, persistenceOf } from './snapshot-properties.ts'

type Rows = Record<string, unknown>[]
const q = async (db: Knex | Knex.Transaction, sql: string, bindings: Knex.RawBinding[] = []): Promise<Rows> =>
  (await db.raw(sql, bindings)).rows as Rows

/** The copy's definition: LIKE copies columns, defaults, NOT NULL, CHECK, identity, generated columns, comments, column storage; the table's settings are set alike. */
export async function postgresCreateShadow(knex: Knex, table: string, shadow: string): Promise<void> {
  await knex.transaction(async (trx) => {
    const [found] = await q(trx, 'SELECT to_regclass(?) IS NOT NULL AS found', [quoteTable(shadow)])
    if (found?.found) return
    await trx.raw(
      `CREATE ${await persistenceOf(trx, table)}TABLE ${quoteTable(shadow)} (LIKE ${quoteTable(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING COMMENTS INCLUDING STORAGE)`,
    )
    const [c] = await q(trx, `SELECT obj_description(to_regclass(?), 'pg_class') AS comment`, [quoteTable(table)])
    if (c?.comment != null) await trx.raw(`COMMENT ON TABLE ${quoteTable(shadow)} IS ${trx.raw('?', [String(c.comment)]).toQuery()}`)
    await carrySettings(trx, table, shadow)
  })
}

export async function postgresCopyColumns(knex: Knex, table: string): Promise<{ columns: string[]; overriding: string }> {
  const cols = await q(
    knex,
    `SELECT attname, attidentity FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    [quoteTable(table)],
  )
  // Identity columns GENERATED ALWAYS take the copied keys only when asked explicitly.
  const overriding = cols.some((c) => c.attidentity !== '') ? 'OVERRIDING SYSTEM VALUE' : ''
  return { columns: cols.map((c) => String(c.attname)), overriding }
}

/**
 * After the copy (an index built once is faster than one kept up to date row by row):
 * indexes and index-backed constraints under `suffix` (index names are unique per schema),
 * foreign keys out (NOT VALID then validated: the parent's writers are not held up), owner, grants.
 */
export async function postgresBuildShadow(knex: Knex, table: string, shadow: string, suffix: string): Promise<void> {
  const rel = quoteTable(table)
  const target = quoteTable(shadow)
  const existing = new Set(
    (await q(knex, 'SELECT indexrelid::regclass::text AS n FROM pg_index WHERE indrelid = to_regclass(?)', [target])).map((r) =>
      bare(String(r.n)),
    ),
  )
  const indexes = await q(
    knex,
    `SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def, con.contype, con.conname, pg_get_constraintdef(con.oid) AS condef
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
      WHERE i.indrelid = to_regclass(?)`,
    [rel],
  )
  for (const ix of indexes) {
    const name = withSuffix(String(ix.relname), suffix)
    if (existing.has(name)) continue
    if (ix.contype) await knex.raw(`ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(name)} ${String(ix.condef)}`)
    else {
      const def = String(ix.def)
      const using = def.indexOf(' USING ')
      const unique = def.startsWith('CREATE UNIQUE') ? 'UNIQUE ' : ''
      await knex.raw(`CREATE ${unique}INDEX ${quoteIdent(name)} ON ${target}${def.slice(using)}`)
    }
  }
  const have = new Set(
    (await q(knex, `SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(?) AND contype = 'f'`, [target])).map((r) =>
      String(r.conname),
    ),
  )
  for (const fk of await q(
    knex,
    `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'f' AND conrelid = to_regclass(?) AND confrelid <> conrelid`,
    [rel],
  )) {
    if (have.has(String(fk.conname))) continue
    await knex.raw(`ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(String(fk.conname))} ${String(fk.def)} NOT VALID`)
    await knex.raw(`ALTER TABLE ${target} VALIDATE CONSTRAINT ${quoteIdent(String(fk.conname))}`)
  }
  await carryOwnerAndGrants(knex, table, shadow)
  await carryReplicaIdentity(knex, table, shadow, suffix)
}

/** `schema.name` or `name` as regclass prints it → the bare name (unquoted). */
function bare(regclass: string): string {
  const dot = regclass.lastIndexOf('.')
  const name = dot < 0 ? regclass : regclass.slice(dot + 1)
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name
}
