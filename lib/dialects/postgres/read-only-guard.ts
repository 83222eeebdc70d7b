import type { Knex } from 'knex'
import type { ReadOnlyGuard } from '../dialect.ts'
import { listenPostgres } from './listen.ts'
import { guardedTables, postgresCoveredTables } from './read-only-partitions.ts'
import {
  type GuardContext,
  cannotGuard,
  cannotUnguard,
  guardContext,
  lacksPrivilege,
  notOwner,
  wouldStayOn,
} from './read-only-privileges.ts'
import { mayActAsOwnerOfEach } from './table-owner.ts'

const TRIGGER = 'evolve_read_only'
/** The row-level one, on partitioned tables and partitions only (read-only-partitions.ts). */
const ROW_TRIGGER = 'evolve_read_only_row'
const FUNCTION = 'evolve_read_only_refuse'
/** A row trigger's function must return the row to let it through: a function of its own, so the statement one stays as older evolvekits made it. */
const ROW_FUNCTION = 'evolve_read_only_refuse_row'
const CHANNEL = 'evolve_read_only'
/** What every refusal's message starts with, before the operator's message. */
const MARK = 'read-only: '
/** The transaction-local setting that carries the runner's token past the triggers (batchSettings sets it too). */
export const BYPASS_SETTING = 'evolvekit.bypass'
/** SQLSTATE read_only_sql_transaction: what a hot standby answers too, so apps may already handle it. */
export const READ_ONLY_SQLSTATE = '25006'
/** What tells the guard's refusal from a standby's, which shares its SQLSTATE. */
export const READ_ONLY_HINT = 'evolvekit read-only mode is on: evolve readonly status'

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`

/** The function's body, as pg_proc.prosrc keeps it: what `install` compares before replacing it. */
const BODY = `
      BEGIN
        IF current_setting('evolvekit.bypass', true) IS NOT DISTINCT FROM TG_ARGV[1] THEN RETURN NULL; END IF;
        RAISE EXCEPTION USING ERRCODE = '${READ_ONLY_SQLSTATE}', MESSAGE = TG_ARGV[0],
          HINT = '${READ_ONLY_HINT}';
      END `

/** The row trigger's: the bypass lets the row through unchanged (NULL would skip it silently). */
const ROW_BODY = `
      BEGIN
        IF current_setting('evolvekit.bypass', true) IS NOT DISTINCT FROM TG_ARGV[1] THEN
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END IF;
        RAISE EXCEPTION USING ERRCODE = '${READ_ONLY_SQLSTATE}', MESSAGE = TG_ARGV[0],
          HINT = '${READ_ONLY_HINT}';
      END `

/** Awaits `statement`; a refusal for lack of privilege becomes the one-line error `explain` makes. */
async function refusedAs(statement: PromiseLike<unknown>, explain: () => Error): Promise<void> {
  try {
    await statement
  } catch (err) {
    throw lacksPrivilege(err) ? explain() : err
  }
}

/** Makes function `name()` with `body` unless the same one is there (then a role that does not own it can still use it). */
async function ensureFunction(trx: Knex.Transaction, name: string, body: string): Promise<GuardContext> {
  const ctx = await guardContext(trx, name, body)
  if (!ctx.same) {
    await refusedAs(trx.raw(`CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$${body}$$`), () =>
      notOwner(ctx, name),
    )
  }
  return ctx
}

/**
 * PostgreSQL: one statement-level trigger per table (INSERT, UPDATE, DELETE and TRUNCATE)
 * raising SQLSTATE 25006 with the operator's message, and a row-level one on partitioned tables
 * and partitions (read-only-partitions.ts). The runner's transactions set `evolvekit.bypass` to
 * the token kept in the state row (SET LOCAL: it ends with them).
 */
export const postgresReadOnlyGuard: ReadOnlyGuard = {
  async beginToggle(trx, lockTimeoutMs) {
    // CREATE/DROP TRIGGER wait for the app's open transactions on the table, and every later
    // query on it would queue behind them: give up quickly instead, and try again.
    await trx.raw(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`)
  },
  async userTables(db) {
    const { rows } = await db.raw(
      `SELECT n.nspname AS schema, c.relname AS name, n.nspname = current_schema() AS current
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false)) AND c.relname NOT LIKE 'evolve\\_%'
        ORDER BY 1, 2`,
    )
    return (rows as { schema: string; name: string; current: boolean }[]).map((r) => (r.current ? r.name : `${r.schema}.${r.name}`))
  },
  coveredTables: postgresCoveredTables,
  async refusal(db, tables) {
    // Said before the act (`evolve plan`): what install would refuse, without its "nothing changed".
    return (await notOwned(db, tables))?.message.replace(/; nothing changed$/, '') ?? null
  },
  async install(trx, tables, message, token) {
    const refused = await notOwned(trx, tables)
    if (refused) throw refused
    const guarded = await guardedTables(trx, tables)
    const ctx = await ensureFunction(trx, FUNCTION, BODY)
    if (guarded.some((t) => t.rows)) await ensureFunction(trx, ROW_FUNCTION, ROW_BODY)
    const args = `${literal(`${MARK}${message}`)}, ${literal(token)}`
    for (const { name, rel, rows } of guarded) {
      const create = (sql: string) => refusedAs(trx.raw(sql), () => cannotGuard(name, ctx))
      await create(
        `CREATE TRIGGER ${TRIGGER} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${rel} FOR EACH STATEMENT EXECUTE FUNCTION ${FUNCTION}(${args})`,
      )
      if (rows)
        await create(
          `CREATE TRIGGER ${ROW_TRIGGER} BEFORE INSERT OR UPDATE OR DELETE ON ${rel} FOR EACH ROW EXECUTE FUNCTION ${ROW_FUNCTION}(${args})`,
        )
    }
  },
  async removeAll(trx) {
    // Not the copies PostgreSQL keeps of a partitioned table's row trigger on its partitions: they go with it.
    const { rows } = await trx.raw(
      `SELECT t.tgname AS name, t.tgrelid::regclass::text AS rel, current_user AS me, pg_get_userbyid(c.relowner) AS owner
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE t.tgname IN (?, ?) AND coalesce((to_jsonb(t) ->> 'tgparentid')::oid, 0) = 0`,
      [TRIGGER, ROW_TRIGGER],
    )
    // regclass text is already quoted as the search path needs it.
    for (const { name, rel, me, owner } of rows as { name: string; rel: string; me: string; owner: string }[])
      await refusedAs(trx.raw(`DROP TRIGGER IF EXISTS ${name} ON ${rel}`), () => cannotUnguard(rel, owner, me))
  },
  async bypass(trx, token, fn) {
    await trx.raw(`SELECT set_config('evolvekit.bypass', ?, true)`, [token])
    return fn()
  },
  isRefusal: (err) => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === READ_ONLY_SQLSTATE,
  refusalMessage(err) {
    if (!postgresReadOnlyGuard.isRefusal(err)) return null
    const text = String((err as { message?: unknown }).message)
    return text.includes(MARK) ? text.slice(text.indexOf(MARK) + MARK.length) : null
  },
  async notify(trx) {
    await trx.raw('SELECT pg_notify(?, ?)', [CHANNEL, ''])
  },
  listen: (knex, onChange) => listenPostgres(knex, CHANNEL, onChange),
}

/**
 * Only a table's owner may drop a trigger (GRANT TRIGGER lets a role add one it can never take off):
 * a table the role does not own is refused before anything is added, or read-only could not be
 * turned off again.
 */
async function notOwned(db: Knex | Knex.Transaction, tables: string[]) {
  const owners = await mayActAsOwnerOfEach(db, tables)
  const stuck = owners.findIndex((o) => !o.ok)
  return stuck >= 0 ? wouldStayOn(tables[stuck]!, owners[stuck]!) : undefined
}
