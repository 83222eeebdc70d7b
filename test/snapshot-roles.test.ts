// Snapshot mode on PostgreSQL run by a role that does not own the table, as in production: the
// table belongs to an owner role, evolvekit runs as a role of its own (a member of the owner, or
// not). A role that may not act as the owner is refused before anything changes (plan says so);
// a step that fails between the copy and the swap unwinds the run; a cancel that would have to
// unwind but may not changes nothing; the swapped-in table carries the table's privileges exactly.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { assertUsageError, output, runCli, spawnCli } from './helpers/cli.ts'
import { type FreshPostgres, freshPostgres } from './helpers/databases.ts'
import { counterHistogram, createItems, makeProject, runRow, setMigration, tableNames, waitUntil } from './helpers/fixtures.ts'

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

/** Whether writes to `items` are refused, as the switch says and as the table's triggers do. */
async function readOnlyState(db: FreshPostgres): Promise<{ switch: boolean; triggers: number }> {
  const status = JSON.parse((await runCli(['readonly', 'status', '--json', '--db', db.url])).stdout)
  const { rows } = await db.knex.raw(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal`)
  return { switch: status.readOnly, triggers: rows[0].n }
}

/** Names of the copy's tables and indexes left in the schema. */
async function leftovers(db: FreshPostgres): Promise<string[]> {
  const { rows } = await db.knex.raw(`SELECT relname FROM pg_class WHERE relname LIKE '%\\_\\_ev%' ORDER BY 1`)
  return rows.map((r: { relname: string }) => r.relname)
}

describe('snapshot mode on postgres run by a role that does not own the table', () => {
  for (const [how, grant] of [
    ['a role that is no member of the owner', (_: Roles) => ''],
    [
      'a member that inherits the owner but may not SET ROLE to it (PostgreSQL 16+)',
      (r: Roles) => `GRANT ${r.owner} TO ${r.runner} WITH INHERIT TRUE, SET FALSE`,
    ],
  ] as const)
    it(`plan shows ${how} as REFUSED, and run refuses it before anything changes`, () =>
      withRoles(false, async (db, roles) => {
        if (grant(roles)) await db.knex.raw(grant(roles))
        const project = await makeProject({ ...db, url: roles.url }, snapshotSet())
        try {
          const plan = await runCli(['plan', ...project.flags])
          assert.equal(plan.code, 0, output(plan))
          assert.match(
            plan.stdout,
            new RegExp(
              `REFUSED role ${roles.runner}: may not act as the owner of items \\("${roles.owner}"\\).*GRANT ${roles.owner} TO ${roles.runner}`,
            ),
          )
          const run = await runCli(['run', ...project.flags])
          assertUsageError(run, [
            `role "${roles.runner}" may not act as the owner of items ("${roles.owner}")`,
            `GRANT ${roles.owner} TO ${roles.runner}`,
          ])
          assert.deepEqual(await readOnlyState(db), { switch: false, triggers: 0 }, 'read-only never went on')
          assert.deepEqual(await tableNames(db), ['items'], 'no copy')
          assert.equal(await runRow(db.knex, project.name), undefined, 'no run began')
          assert.deepEqual(await counterHistogram(db.knex), { 0: ROWS })
        } finally {
          await project.cleanup()
        }
      }))

  it('unwinds a run whose build step fails (the owner may not have the copy): read-only off, the copy dropped, the run failed; it runs once mended', () =>
    withRoles(true, async (db, roles) => {
      // ALTER TABLE … OWNER needs the new owner to have CREATE on the schema: a privilege error in the build.
      await db.knex.raw(`REVOKE CREATE ON SCHEMA public FROM ${roles.owner}`)
      const project = await makeProject({ ...db, url: roles.url }, snapshotSet())
      try {
        const run = await runCli(['run', ...project.flags])
        assert.equal(run.code, 1, output(run))
        const stored = await runRow(db.knex, project.name)
        assert.equal(stored?.state, 'failed', 'not left running with nobody driving it')
        assert.match(
          stored?.lastError ?? '',
          /^snapshot stopped at build, before the swap \(items untouched\): the role evolvekit runs as lacks a privilege: grant it \(42501: .*\); once mended, `evolve run \S+` starts over from a fresh copy$/,
        )
        assert.deepEqual(await readOnlyState(db), { switch: false, triggers: 0 }, 'read-only off again')
        assert.deepEqual(await leftovers(db), [], 'the copy and its index dropped')
        assert.deepEqual(await counterHistogram(db.knex), { 0: ROWS })

        await db.knex.raw(`GRANT CREATE ON SCHEMA public TO ${roles.owner}`)
        const again = await runCli(['run', ...project.flags])
        assert.equal(again.code, 0, output(again))
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
        assert.deepEqual(await readOnlyState(db), { switch: false, triggers: 0 })
      } finally {
        await project.cleanup()
      }
    }))

  it('refuses a cancel that would have to unwind a run its runner left but may not, changing nothing; the owner’s cancel unwinds it', () =>
    withRoles(true, async (db, roles) => {
      const project = await makeProject({ ...db, url: roles.url }, snapshotSet())
      const holdFile = path.join(project.dir, 'hold')
      try {
        await writeFile(holdFile, 'copy')
        const env = { EVOLVE_SNAPSHOT_HOLD_FILE: holdFile, EVOLVE_SNAPSHOT_COPY_CHUNK: '10' }
        const runner = spawnCli(['run', ...project.flags], { env })
        await runner.waitFor('[snapshot] holding at copy')
        await runner.kill('SIGKILL')
        await waitUntil('the killed runner’s sessions to end', async () => {
          const { rows } = await db.knex.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = ?`, [roles.runner])
          return rows[0].n === 0
        })
        // As in a user trial: the role that ran it is no longer a member of the owner.
        await db.knex.raw(`REVOKE ${roles.owner} FROM ${roles.runner}`)
        const copy = await leftovers(db)
        assert.equal(copy.length, 1, 'the copy, half made')

        const refused = await runCli(['cancel', project.name, '--db', roles.url])
        assert.equal((await runRow(db.knex, project.name))?.state, 'running', 'the run not cancelled: nothing changed')
        assertUsageError(refused, [
          `cannot cancel "${project.name}": no runner is left, so the cancel has to undo it`,
          `role "${roles.runner}" may not act as the owner of items ("${roles.owner}")`,
          'nothing changed',
        ])
        assert.deepEqual(await readOnlyState(db), { switch: true, triggers: 1 })
        assert.deepEqual(await leftovers(db), copy)

        const cancelled = await runCli(['cancel', project.name, '--db', db.url])
        assert.equal(cancelled.code, 0, output(cancelled))
        assert.match(cancelled.stdout, /no runner was left, so the cancel unwound it/)
        assert.equal((await runRow(db.knex, project.name))?.state, 'cancelled')
        assert.deepEqual(await readOnlyState(db), { switch: false, triggers: 0 })
        assert.deepEqual(await leftovers(db), [])
        assert.deepEqual(await counterHistogram(db.knex), { 0: ROWS })
      } finally {
        await project.cleanup()
      }
    }))

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
