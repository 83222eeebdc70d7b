import type { Knex } from 'knex'
import { type SwapSpec, quoteIdent, quoteTable, withSuffix } from '../snapshot-ddl.ts'

type Rows = Record<string, unknown>[]
const q = async (db: Knex.Transaction, sql: string, bindings: Knex.RawBinding[] = []): Promise<Rows> =>
  (await db.raw(sql, bindings)).rows as Rows

/**
 * The sequences of the swap, run after the renames (the table's name is the incoming table's):
 * a key the new table hands out must be past every key either table ever held or handed out.
 * A serial column's sequence is one, owned by whichever table has the name. An identity column
 * has a sequence of its own per table (the copy got `<copy>_id_seq`): the names are swapped as
 * index names are, so the live table's sequence keeps its name and the other takes `outgoingSuffix`.
 * `sequences`: the columns of the table as it was before the renames, and the sequence of each.
 */
export async function carrySequences(trx: Knex.Transaction, spec: SwapSpec, sequences: Rows): Promise<void> {
  const rel = quoteTable(spec.table)
  for (const s of sequences) {
    const column = quoteIdent(String(s.attname))
    let old = String(s.seq)
    const [now] = await q(trx, 'SELECT pg_get_serial_sequence(?, ?) AS seq', [rel, String(s.attname)])
    let seq = now?.seq ? String(now.seq) : null
    if (!s.identity || seq === null) {
      await trx.raw(`ALTER SEQUENCE ${old} OWNED BY ${rel}.${column}`)
      seq = old
    } else if (seq !== old) [old, seq] = await swapNames(trx, spec, old, seq)
    await trx.raw(
      `SELECT setval(?::regclass, GREATEST((SELECT max(${column}) FROM ${rel}), (SELECT last_value FROM ${old}), (SELECT last_value FROM ${seq}), 1))`,
      [seq],
    )
  }
}

/** The outgoing identity sequence takes a suffixed name, the incoming one its name; both, as SQL, after that. */
async function swapNames(trx: Knex.Transaction, spec: SwapSpec, old: string, seq: string): Promise<[string, string]> {
  const [n] = await q(
    trx,
    `SELECT o.relname AS name, quote_ident(os.nspname) AS old_schema, quote_ident(ns.nspname) AS new_schema
       FROM pg_class o JOIN pg_namespace os ON os.oid = o.relnamespace, pg_class s JOIN pg_namespace ns ON ns.oid = s.relnamespace
      WHERE o.oid = ?::regclass AND s.oid = ?::regclass`,
    [old, seq],
  )
  const name = String(n!.name)
  const moved = withSuffix(name, spec.outgoingSuffix)
  await trx.raw(`ALTER SEQUENCE ${old} RENAME TO ${quoteIdent(moved)}`)
  await trx.raw(`ALTER SEQUENCE ${seq} RENAME TO ${quoteIdent(name)}`)
  return [`${String(n!.old_schema)}.${quoteIdent(moved)}`, `${String(n!.new_schema)}.${quoteIdent(name)}`]
}
