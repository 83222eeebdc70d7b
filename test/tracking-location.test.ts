// Where the tracking tables live on PostgreSQL, and roles that cannot see them. knex's hasTable
// looked in current_schema() only, through information_schema, which hides tables the role has no
// privilege on: a schema named after the role (search_path "$user", public) or a role without
// grants made evolvekit take a done run for one never started, make a second set and run it
// again. Now each is refused in one line naming where the tables are and the fix, changing nothing.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import knexFactory, { type Knex } from 'knex'
import { EvolveUsageError, createReadOnlySwitch, reportAppLatency } from '../lib/index.ts'
import { assertUsageError, output, runCli, statusJson } from './helpers/cli.ts'
import { counterHistogram, makeProject, setMigration, withAppRole } from './helpers/fixtures.ts'

const ROWS = 20

/** Every schema holding evolve_runs, whoever may see it (pg_class, not information_schema). */
const schemasWithRuns = async (knex: Knex) =>
  (
    await knex.raw(
      `SELECT n.nspname AS s FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'evolve_runs' ORDER BY 1`,
    )
  ).rows.map((r: { s: string }) => r.s)

/** `url` with a search_path for the session, written as the refusal says to. */
const withSearchPath = (url: string, path: string) => `${url}?options=-c%20search_path%3D${path}`

describe('tracking tables in another schema than the connection uses', () => {
  it('refuses status and run in one line naming both schemas and the fix once a schema named after the role appears, and evolves nothing again', () =>
    withAppRole(ROWS, async (db, app) => {
      const project = await makeProject({ ...db, url: app.url }, setMigration(5))
      try {
        const first = await runCli(['run', ...project.flags])
        assert.equal(first.code, 0, output(first))
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })

        // The trial's reproduction: with the default search_path "$user", public this schema now comes first.
        await db.knex.raw(`CREATE SCHEMA ${app.role} AUTHORIZATION ${app.role}`)
        const fix = [
          `evolvekit's tracking tables are in schema "public", which comes after schema "${app.role}"`,
          'search_path ("$user", public)',
          `would make a second, empty set in "${app.role}"`,
          '?options=-c%20search_path%3Dpublic',
          "searchPath: ['public']",
          'nothing changed',
        ]
        const rerun = await runCli(['run', ...project.flags])
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS }, `no row evolved twice\n${output(rerun)}`)
        assertUsageError(rerun, fix)
        assertUsageError(await runCli(['status', ...project.flags]), fix)
        assert.deepEqual(await schemasWithRuns(db.knex), ['public'], 'no second set')

        // A search_path without that schema at all is another site's (a schema per tenant): its own, new set.
        const tenant = ['--db', withSearchPath(app.url, app.role), '--dir', project.migrationsDir]
        assert.equal((await statusJson(project.name, tenant)).state, 'pending')
        // One naming a schema the role may not use, on the other hand, is refused for it.
        await db.knex.raw(`REVOKE USAGE ON SCHEMA public FROM PUBLIC`)
        try {
          assertUsageError(
            await runCli(['status', '--db', withSearchPath(app.url, `${app.role},public`), '--dir', project.migrationsDir]),
            [
              `evolvekit's tracking tables are in schema "public", which role "${app.role}" may not use`,
              `GRANT USAGE ON SCHEMA public TO ${app.role}`,
            ],
          )
        } finally {
          await db.knex.raw(`GRANT USAGE ON SCHEMA public TO PUBLIC`)
        }

        // The fix as the message gives it finds the set: done, and nothing to run again.
        const fixed = ['--db', withSearchPath(app.url, 'public'), '--dir', project.migrationsDir]
        assert.equal((await statusJson(project.name, fixed)).state, 'done')
        const again = await runCli(['run', ...fixed])
        assert.equal(again.code, 0, output(again))
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
        assert.deepEqual(await schemasWithRuns(db.knex), ['public'])
      } finally {
        await project.cleanup()
      }
    }))
})

describe('tracking tables a role has no privilege on', () => {
  it('refuses status, readonly status/on/off, cancel and run in one line naming the tables and the GRANT, and changes nothing', () =>
    withAppRole(ROWS, async (db, app, superuser) => {
      const project = await makeProject(db, setMigration(5))
      const asApp = ['--db', app.url, '--dir', project.migrationsDir]
      try {
        // The set made and a run done by the superuser; read-only on for items.
        const first = await runCli(['run', ...project.flags])
        assert.equal(first.code, 0, output(first))
        const on = await runCli(['readonly', 'on', '--tables', 'items', '--message', 'back soon', ...project.dbFlags])
        assert.equal(on.code, 0, output(on))
        const before = await db.knex('evolve_read_only').first('enabled', 'message', 'tables')

        const cannotRead = [`role "${app.role}" may not read evolvekit's tracking tables in schema "public", owned by "${superuser}"`]
        assertUsageError(await runCli(['status', ...asApp]), [...cannotRead, 'GRANT SELECT ON public.evolve_batches', `TO ${app.role}`])
        assertUsageError(await runCli(['run', ...asApp]), cannotRead)
        assertUsageError(await runCli(['readonly', 'status', ...asApp]), [
          ...cannotRead,
          `GRANT SELECT ON public.evolve_read_only TO ${app.role}`,
        ])
        assertUsageError(await runCli(['readonly', 'off', ...asApp]), cannotRead)
        const cannotWrite = [
          `role "${app.role}" may not write evolvekit's tracking tables in schema "public", owned by "${superuser}"`,
          `GRANT SELECT, INSERT, UPDATE, DELETE ON public.evolve_batches`,
          `TO ${app.role} and USAGE on their sequences`,
          'nothing changed',
        ]
        assertUsageError(await runCli(['readonly', 'on', '--tables', 'items', ...asApp]), cannotWrite)
        assertUsageError(await runCli(['cancel', project.name, ...asApp]), cannotWrite)

        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
        assert.deepEqual(await db.knex('evolve_read_only').first('enabled', 'message', 'tables'), before)
        assert.equal((await db.knex('evolve_runs').where({ name: project.name }).first()).state, 'done')
        assert.deepEqual(await schemasWithRuns(db.knex), ['public'])
      } finally {
        await project.cleanup()
      }
    }))
})

describe("the app's read-only switch as a role that may not read the state", () => {
  it('rejects ready with the GRANT the app role needs, and follows the switch once granted; with no tracking tables at all it is off', () =>
    withAppRole(ROWS, async (db, app) => {
      const appKnex = knexFactory({ client: 'pg', connection: app.url, pool: { min: 0, max: 2 } })
      try {
        const fresh = createReadOnlySwitch(appKnex)
        await fresh.ready
        assert.equal(fresh.isReadOnly(), false, 'a fresh site is off')
        await fresh.close()

        const on = await runCli(['readonly', 'on', '--tables', 'items', '--message', 'Back soon', '--db', db.url])
        assert.equal(on.code, 0, output(on))
        const blind = createReadOnlySwitch(appKnex)
        await assert.rejects(blind.ready, (err: unknown) => {
          assert.ok(err instanceof EvolveUsageError, String(err))
          assert.equal(err.code, 'E_TRACKING_PRIVILEGE')
          assert.match(err.message, new RegExp(`GRANT SELECT ON public\\.evolve_read_only TO ${app.role}`))
          assert.ok(!err.message.includes('\n'), err.message)
          return true
        })
        assert.equal(blind.lastError?.message.includes('GRANT SELECT ON public.evolve_read_only'), true)

        // It keeps trying: once granted, the next read has the state.
        await db.knex.raw(`GRANT SELECT ON evolve_read_only TO ${app.role}`)
        await blind.refresh()
        assert.equal(blind.lastError, null)
        assert.deepEqual([blind.isReadOnly('items'), blind.message], [true, 'Back soon'])
        await blind.close()
      } finally {
        await appKnex.destroy()
      }
    }))
})

describe('reportAppLatency as an app role with only what it needs', () => {
  it('writes its report with SELECT on evolve_meta and SELECT, INSERT, UPDATE on evolve_control alone, not every tracking table', () =>
    withAppRole(ROWS, async (db, app) => {
      const made = await runCli(['readonly', 'on', '--tables', 'items', '--db', db.url]) // the tables, made by another role
      assert.equal(made.code, 0, output(made))
      await db.knex.raw(`GRANT SELECT ON evolve_meta TO ${app.role}`)
      await db.knex.raw(`GRANT SELECT, INSERT, UPDATE ON evolve_control TO ${app.role}`)
      const appKnex = knexFactory({ client: 'pg', connection: app.url, pool: { min: 0, max: 1 } })
      try {
        await reportAppLatency(appKnex, 123)
        assert.equal((await db.knex('evolve_control').where({ key: 'app_latency_ms' }).first())?.value, '123')
      } finally {
        await appKnex.destroy()
      }
    }))
})
