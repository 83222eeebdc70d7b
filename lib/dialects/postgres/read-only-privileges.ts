import type { Knex } from 'knex'
import { type EvolveUsageError, usage } from '../../errors.ts'

/*
 * The read-only guard's DDL run by a role that lacks a privilege it needs: PostgreSQL's error
 * carries the whole statement, a wall of SQL. Told instead in one line: what, whose, the fix.
 * Recognised by SQLSTATE 42501 (insufficient_privilege), never by the message's text.
 */

const INSUFFICIENT_PRIVILEGE = '42501'

export const lacksPrivilege = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE

/** Who runs this, and the guard's function as it exists in the schema it would be created in. */
export interface GuardContext {
  /** The role running evolve, as it is named and as SQL takes it (quoted if need be). */
  me: string
  meQuoted: string
  /** Its definition is the one `install` would write: nothing to replace. Null: there is none. */
  same: boolean | null
  /** Schema-qualified and quoted, as an ALTER FUNCTION takes it. */
  qualified: string | null
  owner: string | null
  /** current_schema(), quoted: where CREATE FUNCTION puts a missing one. */
  schema: string | null
}

/**
 * The role running this, and the guard's function `name()` in the schema CREATE would put it in
 * (current_schema()) compared with the definition `body` (plpgsql, RETURNS trigger, invoker's
 * rights, no settings). Read before any DDL: once a statement failed, the transaction can say nothing.
 */
export async function guardContext(trx: Knex.Transaction, name: string, body: string): Promise<GuardContext> {
  const { rows } = await trx.raw(
    `SELECT current_user AS me, quote_ident(current_user) AS "meQuoted", quote_ident(current_schema()) AS schema,
            p.prosrc = ? AND l.lanname = 'plpgsql' AND p.prorettype = 'trigger'::regtype AND NOT p.prosecdef AND p.proconfig IS NULL AS same,
            quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '()' AS qualified, pg_get_userbyid(p.proowner) AS owner
       FROM (SELECT 1) AS one
       LEFT JOIN (pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = current_schema() JOIN pg_language l ON l.oid = p.prolang)
         ON p.proname = ? AND p.pronargs = 0`,
    [body, name],
  )
  return (rows as GuardContext[])[0]!
}

/** How SQL takes a role's name: bare when it may be, else double-quoted (as quote_ident does, reserved words aside). */
const sqlName = (role: string) => (/^[a-z_][a-z0-9_$]*$/.test(role) ? role : `"${role.replace(/"/g, '""')}"`)

/**
 * CREATE OR REPLACE of the guard's function `name` refused: it belongs to another role and differs
 * from ours; or there is none and the role may not create one in the current schema.
 */
export function notOwner(ctx: GuardContext, name: string): EvolveUsageError {
  if (ctx.owner === null) {
    return usage(
      'E_READ_ONLY_PRIVILEGE',
      `read-only: role "${ctx.me}" may not create function ${ctx.schema}.${name}() (it lacks CREATE on schema ${ctx.schema}): run this once as the schema's owner, or GRANT CREATE ON SCHEMA ${ctx.schema} TO ${ctx.meQuoted}; nothing changed`,
    )
  }
  return usage(
    'E_READ_ONLY_PRIVILEGE',
    `read-only: function ${ctx.qualified} belongs to role "${ctx.owner}" and differs from the one this evolvekit installs, so role "${ctx.me}" may not replace it: run this once as "${ctx.owner}", or have "${ctx.owner}" run ALTER FUNCTION ${ctx.qualified} OWNER TO ${ctx.meQuoted}; nothing changed`,
  )
}

/**
 * The role does not own `table` (nor inherit its owner's privileges): it might put the trigger on
 * (GRANT TRIGGER) but could never drop it, so read-only would stay on until a superuser came.
 */
export function wouldStayOn(table: string, check: { owner: string; role: string }): EvolveUsageError {
  return usage(
    'E_READ_ONLY_PRIVILEGE',
    `read-only: role "${check.role}" does not own table ${table} (role "${check.owner}" does), so it could not take the read-only trigger off again (only the owner may drop a trigger): run this as "${check.owner}" or a member of it (GRANT ${sqlName(check.owner)} TO ${sqlName(check.role)}); nothing changed`,
  )
}

/** CREATE TRIGGER on `table` refused although the role owns it: TRIGGER on it, or EXECUTE on the guard's function, was revoked. */
export function cannotGuard(table: string, ctx: GuardContext): EvolveUsageError {
  return usage(
    'E_READ_ONLY_PRIVILEGE',
    `read-only: role "${ctx.me}" may not put the read-only trigger on table ${table}: its TRIGGER privilege on it, or EXECUTE on the evolve_read_only_refuse functions, was revoked; grant them back to ${ctx.meQuoted} (or run this as a superuser); nothing changed`,
  )
}

/** DROP TRIGGER on `rel` refused: only the table's owner (or a member of it) may drop its triggers. */
export function cannotUnguard(rel: string, owner: string, me: string): EvolveUsageError {
  return usage(
    'E_READ_ONLY_PRIVILEGE',
    `read-only: role "${me}" may not drop the read-only trigger on table ${rel}, which role "${owner}" owns: run this as "${owner}" or a member of it (GRANT ${sqlName(owner)} TO ${sqlName(me)}); nothing changed`,
  )
}
