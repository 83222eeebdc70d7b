import type { ReadOnlyGuard } from '../dialect.ts'
import { listenPostgres } from './listen.ts'
import { cannotGuard, cannotUnguard, guardContext, lacksPrivilege, notOwner } from './read-only-privileges.ts'

const TRIGGER = 'evolve_read_only'
const FUNCTION = 'evolve_read_only_refuse'
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

/** Awaits `statement`; a refusal for lack of privilege becomes the one-line error `explain` makes. */
async function refusedAs(statement: PromiseLike<unknown>, explain: () => Error): Promise<void> {
  try {
    await statement
  } catch (err) {
    throw lacksPrivilege(err) ? explain() : err
  }
}

/**
 * PostgreSQL: one statement-level trigger per table (INSERT, UPDATE, DELETE and TRUNCATE)
 * raising SQLSTATE 25006 with the operator's message. The runner's transactions set
 * `evolvekit.bypass` to the token kept in the state row (SET LOCAL: it ends with them).
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
  async install(trx, tables, message, token) {
    const ctx = await guardContext(trx, FUNCTION, BODY)
    // Replaced only when it differs: then a role that does not own it (a superuser made it, say) can still use it.
    if (!ctx.same) {
      await refusedAs(trx.raw(`CREATE OR REPLACE FUNCTION ${FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$${BODY}$$`), () =>
        notOwner(ctx),
      )
    }
    for (const table of tables) {
      await refusedAs(
        trx.raw(
          `CREATE TRIGGER ${TRIGGER} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ?? FOR EACH STATEMENT
             EXECUTE FUNCTION ${FUNCTION}(${literal(`${MARK}${message}`)}, ${literal(token)})`,
          [table],
        ),
        () => cannotGuard(table, FUNCTION, ctx),
      )
    }
  },
  async removeAll(trx) {
    const { rows } = await trx.raw(`SELECT tgrelid::regclass::text AS rel, current_user AS me FROM pg_trigger WHERE tgname = ?`, [TRIGGER])
    // regclass text is already quoted as the search path needs it.
    for (const { rel, me } of rows as { rel: string; me: string }[])
      await refusedAs(trx.raw(`DROP TRIGGER IF EXISTS ${TRIGGER} ON ${rel}`), () => cannotUnguard(rel, me))
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
