// Snapshot mode on PostgreSQL run by a role that does not own the table, as in production: the
// table belongs to an owner role, evolvekit runs as a role of its own (a member of the owner, or
// not). The swapped-in table carries the table's privileges exactly, the running role's included.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { output, runCli } from './helpers/cli.ts'
import { type FreshPostgres, freshPostgres } from './helpers/databases.ts'
import { counterHistogram, createItems, makeProject, setMigration } from './helpers/fixtures.ts'

const ROWS = 40
const snapshotSet = () => setMigration(10).replace('batchSize: 10,', "batchSize: 10,\n  mode: 'snapshot',")

interface Roles {
  /** Owns `items` (no login). */
  owner: string
  /** What evolvekit runs as: CREATE on the schema, SELECT, UPDATE and TRIGGER on `items`. */
  runner: string
  /** postgres:// URL that logs in as `runner`. */
  url: string
  /** Another role the app uses. */
  app: string
}

/** A fresh database whose `items` an owner role owns, and a runner role (a member of the owner when `member`). */
async function withRoles(member: boolean, fn: (db: FreshPostgres, roles: Roles) => Promise<void>): Promise<void> {
  const db = await freshPostgres()
  const tag = randomBytes(4).toString('hex')
  const roles = { owner: `evk_own_${tag}`, runner: `evk_run_${tag}`, app: `evk_web_${tag}` }
  const url = new URL(db.url)
  Object.assign(url, { username: roles.runner, password: 'evk-run-password' })
  try {
    await db.knex.raw(`CREATE ROLE ${roles.owner}`)
    await db.knex.raw(`CREATE ROLE ${roles.app}`)
    await db.knex.raw(`CREATE ROLE ${roles.runner} LOGIN PASSWORD 'evk-run-password'`)
    await db.knex.raw(`GRANT CREATE ON SCHEMA public TO ${roles.runner}, ${roles.owner}`)
    await createItems(db.knex, ROWS)
    await db.knex.raw(`ALTER TABLE items OWNER TO ${roles.owner}`)
    await db.knex.raw(`GRANT SELECT, UPDATE, TRIGGER ON items TO ${roles.runner}`)
    if (member) await db.knex.raw(`GRANT ${roles.owner} TO ${roles.runner}`)
    await fn(db, { ...roles, url: url.href })
  } finally {
    for (const role of Object.values(roles)) await db.knex.raw(`DROP OWNED BY ${role}`).catch(() => {})
    for (const role of Object.values(roles)) await db.knex.raw(`DROP ROLE IF EXISTS ${role}`).catch(() => {})
    await db.drop()
  }
}

/** The table's ACL, entry by entry (grantor, grantee, privilege, grant option), in a fixed order. */
async function aclOf(knex: Knex, table: string): Promise<string[]> {
  const { rows } = await knex.raw(
    `SELECT format('%s=%s/%s%s', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type,
                   pg_get_userbyid(a.grantor), CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS entry
       FROM pg_class c CROSS JOIN aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) a
      WHERE c.oid = to_regclass(?) ORDER BY 1`,
    [table],
  )
  return rows.map((r: { entry: string }) => r.entry)
}

const PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']

/** What `role` may do on `items` by its own grants: read with its membership of the owner revoked for the moment. */
async function ownPrivileges(db: FreshPostgres, roles: Roles): Promise<Record<string, boolean>> {
  await db.knex.raw(`REVOKE ${roles.owner} FROM ${roles.runner}`)
  try {
    const { rows } = await db.knex.raw(`SELECT p, has_table_privilege(?, 'items', p) AS may FROM unnest(?::text[]) AS p ORDER BY p`, [
      roles.runner,
      PRIVILEGES,
    ])
    return Object.fromEntries(rows.map((r: { p: string; may: boolean }) => [r.p, r.may]))
  } finally {
    await db.knex.raw(`GRANT ${roles.owner} TO ${roles.runner}`)
  }
}

describe('snapshot mode on postgres run by a role that does not own the table', () => {
  it('gives the swapped-in table exactly the privileges the table had, those of the role that ran it included', () =>
    withRoles(true, async (db, roles) => {
      await db.knex.raw(`GRANT SELECT, INSERT ON items TO ${roles.app} WITH GRANT OPTION`)
      await db.knex.raw(`GRANT SELECT ON items TO PUBLIC`)
      await db.knex.raw(`REVOKE TRUNCATE ON items FROM ${roles.owner}`) // the owner's own entry differs from its default
      const acl = await aclOf(db.knex, 'items')
      const own = await ownPrivileges(db, roles)
      assert.deepEqual(
        Object.entries(own)
          .filter(([, may]) => may)
          .map(([p]) => p),
        ['SELECT', 'TRIGGER', 'UPDATE'],
      )
      const project = await makeProject({ ...db, url: roles.url }, snapshotSet())
      try {
        const run = await runCli(['run', ...project.flags])
        assert.equal(run.code, 0, output(run))
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
        assert.deepEqual(await ownPrivileges(db, roles), own, 'the running role keeps its own grants')
        assert.deepEqual(await aclOf(db.knex, 'items'), acl, 'the same ACL, entry by entry')
      } finally {
        await project.cleanup()
      }
    }))
})
