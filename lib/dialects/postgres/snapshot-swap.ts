import type { Knex } from 'knex'
import { type SwapSpec, quoteIdent, quoteTable, splitTable, withSuffix } from '../snapshot-ddl.ts'
import { carrySequences } from './snapshot-sequences.ts'

type Db = Knex | Knex.Transaction
type Rows = Record<string, unknown>[]
const q = async (db: Db, sql: string, bindings: Knex.RawBinding[] = []): Promise<Rows> => (await db.raw(sql, bindings)).rows as Rows

/** What depends on the live table, read under the swap's lock and before the renames (names then resolve to the incoming table). */
async function capture(trx: Knex.Transaction, spec: SwapSpec) {
  const rel = quoteTable(spec.table)
  const indexes = (
    await q(trx, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(?)`, [rel])
  ).map((r) => String(r.relname))
  const incomingIndexes = new Set(
    (
      await q(trx, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(?)`, [
        quoteTable(spec.incoming),
      ])
    ).map((r) => String(r.relname)),
  )
  const fksIn = await q(
    trx,
    `SELECT conrelid::regclass::text AS child, conname, pg_get_constraintdef(oid) AS def, conrelid = confrelid AS self
       FROM pg_constraint WHERE contype = 'f' AND confrelid = to_regclass(?) AND conrelid <> to_regclass(?)`,
    [rel, quoteTable(spec.incoming)],
  )
  const views = await q(
    trx,
    `SELECT DISTINCT v.oid::regclass::text AS name, pg_get_viewdef(v.oid) AS def, array_to_string(v.reloptions, ', ') AS options
       FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid JOIN pg_class v ON v.oid = w.ev_class
      WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = to_regclass(?) AND v.oid <> d.refobjid AND v.relkind = 'v'`,
    [rel],
  )
  const triggers = spec.carry
    ? await q(
        trx,
        `SELECT tgname, tgenabled, pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = to_regclass(?) AND NOT tgisinternal`,
        [rel],
      )
    : []
  const policies = spec.carry
    ? await q(
        trx,
        `SELECT quote_ident(polname) AS name, polpermissive, polcmd,
                (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', ') FROM unnest(polroles) r) AS roles,
                pg_get_expr(polqual, polrelid) AS qual, pg_get_expr(polwithcheck, polrelid) AS checks
           FROM pg_policy WHERE polrelid = to_regclass(?)`,
        [rel],
      )
    : []
  const [rls] = await q(trx, 'SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = to_regclass(?)', [rel])
  const sequences = await q(
    trx,
    `SELECT a.attname, pg_get_serial_sequence(?, a.attname) AS seq, a.attidentity <> '' AS identity
       FROM pg_attribute a WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped`,
    [rel, rel],
  )
  return { indexes, incomingIndexes, fksIn, views, triggers, policies, rls, sequences: sequences.filter((s) => s.seq) }
}

/** pg_trigger.tgenabled → the ALTER TABLE that sets it; O (enabled, origin and local) is what CREATE TRIGGER makes. */
const TRIGGER_STATE: Record<string, string> = { D: 'DISABLE TRIGGER', R: 'ENABLE REPLICA TRIGGER', A: 'ENABLE ALWAYS TRIGGER' }

const COMMANDS: Record<string, string> = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' }

/**
 * The swap, in one transaction under a short lock_timeout (the caller retries on a lock
 * timeout): renames, index names, foreign keys of other tables re-pointed NOT VALID, views
 * recreated, triggers and policies carried, sequences owned by and set past the new table.
 */
export async function postgresSwap(
  knex: Knex,
  spec: SwapSpec,
  inside: (trx: Knex.Transaction, marker: string) => Promise<void>,
): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx.raw(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(spec.lockTimeoutMs))}`)
    await trx.raw(`LOCK TABLE ${quoteTable(spec.table)}, ${quoteTable(spec.incoming)} IN ACCESS EXCLUSIVE MODE`)
    const c = await capture(trx, spec)
    const [schema, base] = splitTable(spec.table)
    const inSchema = (name: string) => (schema === undefined ? quoteIdent(name) : `${quoteIdent(schema)}.${quoteIdent(name)}`)
    await trx.raw(`ALTER TABLE ${quoteTable(spec.table)} RENAME TO ${quoteIdent(splitTable(spec.outgoing)[1])}`)
    await trx.raw(`ALTER TABLE ${quoteTable(spec.incoming)} RENAME TO ${quoteIdent(base)}`)
    for (const name of c.indexes) {
      await trx.raw(`ALTER INDEX ${inSchema(name)} RENAME TO ${quoteIdent(withSuffix(name, spec.outgoingSuffix))}`)
      const incoming = withSuffix(name, spec.incomingSuffix)
      if (c.incomingIndexes.has(incoming)) await trx.raw(`ALTER INDEX ${inSchema(incoming)} RENAME TO ${quoteIdent(name)}`)
    }
    for (const fk of c.fksIn) {
      // A self reference follows its table's rename: the outgoing table keeps its own; the
      // copy gets one (forward), a backup coming back still has its own (revert).
      if (fk.self && !spec.carry) continue
      if (!fk.self) await trx.raw(`ALTER TABLE ${String(fk.child)} DROP CONSTRAINT ${quoteIdent(String(fk.conname))}`)
      // The definition, printed before the renames, names the table: it now resolves to the incoming one.
      const owner = fk.self ? quoteTable(spec.table) : String(fk.child)
      await trx.raw(`ALTER TABLE ${owner} ADD CONSTRAINT ${quoteIdent(String(fk.conname))} ${String(fk.def)} NOT VALID`)
    }
    for (const v of c.views) {
      const options = v.options ? ` WITH (${String(v.options)})` : ''
      await trx.raw(`CREATE OR REPLACE VIEW ${String(v.name)}${options} AS ${String(v.def)}`)
    }
    for (const t of c.triggers) {
      await trx.raw(String(t.def))
      // CREATE TRIGGER makes it enabled (O): a disabled, replica or always trigger keeps its state.
      const state = TRIGGER_STATE[String(t.tgenabled)]
      if (state) await trx.raw(`ALTER TABLE ${quoteTable(spec.table)} ${state} ${quoteIdent(String(t.tgname))}`)
    }
    for (const p of c.policies) {
      const using = p.qual === null ? '' : ` USING (${String(p.qual)})`
      const check = p.checks === null ? '' : ` WITH CHECK (${String(p.checks)})`
      const kind = p.polpermissive ? 'PERMISSIVE' : 'RESTRICTIVE'
      await trx.raw(
        `CREATE POLICY ${String(p.name)} ON ${quoteTable(spec.table)} AS ${kind} FOR ${COMMANDS[String(p.polcmd)]} TO ${String(p.roles)}${using}${check}`,
      )
    }
    if (spec.carry && c.rls?.relrowsecurity) await trx.raw(`ALTER TABLE ${quoteTable(spec.table)} ENABLE ROW LEVEL SECURITY`)
    if (spec.carry && c.rls?.relforcerowsecurity) await trx.raw(`ALTER TABLE ${quoteTable(spec.table)} FORCE ROW LEVEL SECURITY`)
    await carrySequences(trx, spec, c.sequences)
    const [marker] = await q(trx, 'SELECT txid_current() % 4294967296 AS xid')
    await inside(trx, String(marker!.xid))
  })
}

/** Foreign keys the swap re-pointed NOT VALID, validated now (no lock that stops the app's writes). */
export async function postgresAfterSwap(knex: Knex, table: string): Promise<void> {
  for (const fk of await q(
    knex,
    `SELECT conrelid::regclass::text AS child, conname FROM pg_constraint WHERE contype = 'f' AND NOT convalidated AND confrelid = to_regclass(?)`,
    [quoteTable(table)],
  ))
    await knex.raw(`ALTER TABLE ${String(fk.child)} VALIDATE CONSTRAINT ${quoteIdent(String(fk.conname))}`)
}

/**
 * Rows written since the swap: their xmin is younger than the swap's transaction; a delete leaves
 * no row version and shows only in the count. Of the rows there at the swap, those without an old
 * version now were updated or deleted, which row versions cannot tell apart: so deletes are known
 * only between bounds (exactly when nothing was inserted or updated).
 */
export async function postgresWrittenSince(knex: Knex, table: string, marker: string, rowsAtSwap: number): Promise<string | null> {
  const rel = quoteTable(table)
  const [r] = await q(knex, `SELECT count(*) FILTER (WHERE age(xmin) < age(?::text::xid)) AS written, count(*) AS total FROM ${rel}`, [
    marker,
  ])
  const written = Number(r?.written ?? 0)
  const total = Number(r?.total ?? 0)
  if (written === 0 && total === rowsAtSwap) return null
  const rows = (n: number) => `${n} ${n === 1 ? 'row' : 'rows'}`
  const what = [written > 0 ? `${rows(written)} inserted or updated` : '', deletedWords(rowsAtSwap, total, written)]
  return `${what.filter(Boolean).join(' and ')} since the swap (${rows(total)} now, ${rowsAtSwap} then)`
}

/**
 * What is known of the rows deleted since the swap. Inserted I, updated U, deleted D: written =
 * I + U, and rows at the swap without an old version = U + D = rowsAtSwap - (total - written).
 * So D is at most that, and at least rowsAtSwap - total (= D - I); equal when nothing was written.
 */
function deletedWords(rowsAtSwap: number, total: number, written: number): string {
  const most = Math.max(0, rowsAtSwap - (total - written))
  const least = Math.max(0, rowsAtSwap - total)
  const rows = (n: number) => `${n === 1 ? 'row' : 'rows'}`
  if (most === 0) return ''
  if (least === most) return `${most} ${rows(most)} deleted`
  if (least === 0) return `at most ${most} ${rows(most)} deleted`
  return `${least} to ${most} rows deleted`
}

export async function postgresDropTable(knex: Knex, name: string): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS ${quoteTable(name)}`)
}
