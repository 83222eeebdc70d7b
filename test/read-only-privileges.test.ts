// Read-only mode on PostgreSQL when the role running evolve is not the one that made the guard's
// function (a superuser ran the first `evolve readonly on`, then the app's role runs the next):
// the same function is used as it is; a different one is refused in one line naming its owner and
// the fix, and a `mode: 'readonly'` run refused so ends failed with that reason, not `running`.
// A table the role may not put a trigger on (or drop one from) is refused the same way.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { assertDone, isReadOnlyError } from '../lib/index.ts'
import { assertUsageError, output, runCli } from './helpers/cli.ts'
import { counterHistogram, makeProject, migrationSource, setMigration, upMigration, withAppRole } from './helpers/fixtures.ts'

const ROWS = 30

const functionOwner = async (knex: Knex) =>
  (await knex.raw(`SELECT pg_get_userbyid(proowner) AS owner FROM pg_proc WHERE proname = 'evolve_read_only_refuse'`)).rows[0]?.owner

describe('read-only mode on postgres run by a role that does not own the guard’s function or the table', () => {
  it('uses the function another role made, when it is the same, to turn read-only on and off', () =>
    withAppRole(ROWS, async (db, app, superuser) => {
      const asSuperuser = ['--db', db.url]
      const asApp = ['--db', app.url]
      assert.equal((await runCli(['readonly', 'on', '--tables', 'items', ...asSuperuser])).code, 0)
      assert.equal((await runCli(['readonly', 'off', ...asSuperuser])).code, 0)
      assert.equal(await functionOwner(db.knex), superuser)
      await db.knex.raw(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${app.role}`)
      await db.knex.raw(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${app.role}`)

      const on = await runCli(['readonly', 'on', '--tables', 'items', '--message', 'back soon', ...asApp])
      assert.equal(on.code, 0, output(on))
      await assert.rejects(db.knex('items').where({ id: 1 }).update({ counter: 5 }), (err) => isReadOnlyError(err))
      const off = await runCli(['readonly', 'off', ...asApp])
      assert.equal(off.code, 0, output(off))
      await db.knex('items').where({ id: 1 }).update({ counter: 5 })
      assert.equal(await functionOwner(db.knex), superuser, 'left as it was')
    }))

  it('refuses a different one in one line naming it, its owner and the fix; a readonly-mode run then ends failed, and runs once mended', () =>
    withAppRole(ROWS, async (db, app, superuser) => {
      // What another evolvekit (an older one, say) made, as the superuser.
      await db.knex.raw(`CREATE FUNCTION evolve_read_only_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`)
      const migration = upMigration({ batchSize: 10 }).replace('batchSize: 10,', "batchSize: 10,\n  mode: 'readonly',")
      const project = await makeProject({ ...db, url: app.url }, migration)
      const fix = [
        `function public.evolve_read_only_refuse() belongs to role "${superuser}"`,
        `role "${app.role}" may not replace it`,
        `run this once as "${superuser}"`,
        `ALTER FUNCTION public.evolve_read_only_refuse() OWNER TO ${app.role}`,
      ]
      try {
        const on = await runCli(['readonly', 'on', '--tables', 'items', ...project.dbFlags])
        assertUsageError(on, fix)
        assert.doesNotMatch(on.stdout + on.stderr, /CREATE|\$\$/, 'no SQL')

        const run = await runCli(['run', ...project.flags])
        assertUsageError(run, fix)
        assert.doesNotMatch(run.stdout + run.stderr, /CREATE|\$\$/, 'no SQL')
        const stored = await db.knex('evolve_runs').where({ name: project.name }).first()
        assert.equal(stored.state, 'failed', 'not left running with nobody driving it')
        assert.match(stored.changed_by, /^runner \S+:\d+$/, 'the runner that met it, as in every other failure')
        assert.ok(
          fix.every((f) => stored.last_error.includes(f)),
          stored.last_error,
        )
        assert.deepEqual(await counterHistogram(db.knex), { 0: ROWS }, 'no row changed')
        assert.equal(JSON.parse((await runCli(['readonly', 'status', '--json', ...project.dbFlags])).stdout).readOnly, false)

        // The fix the message names, then the same run resumes and finishes.
        await db.knex.raw(`ALTER FUNCTION public.evolve_read_only_refuse() OWNER TO ${app.role}`)
        const rerun = await runCli(['run', ...project.flags])
        assert.equal(rerun.code, 0, output(rerun))
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
        assert.equal((await db.knex('evolve_runs').where({ name: project.name }).first()).state, 'done')
      } finally {
        await project.cleanup()
      }
    }))

  it('ends a snapshot-mode run refused so at its read-only step failed with the reason, the table untouched; it resumes once mended', () =>
    withAppRole(ROWS, async (db, app, superuser) => {
      await db.knex.raw(`CREATE FUNCTION evolve_read_only_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`)
      const migration = setMigration(10).replace('batchSize: 10,', "batchSize: 10,\n  mode: 'snapshot',")
      const project = await makeProject({ ...db, url: app.url }, migration)
      try {
        const run = await runCli(['run', ...project.flags])
        assertUsageError(run, [`belongs to role "${superuser}"`, `ALTER FUNCTION public.evolve_read_only_refuse() OWNER TO ${app.role}`])
        const stored = await db.knex('evolve_runs').where({ name: project.name }).first()
        assert.equal(stored.state, 'failed', 'not left running with nobody driving it')
        assert.equal((await db.knex('evolve_snapshots').where({ run_name: project.name }).first()).step, 'read-only')
        assert.deepEqual(await counterHistogram(db.knex), { 0: ROWS }, 'the table untouched')
        await assert.rejects(assertDone(db.knex, project.name), (err: Error) => {
          assert.match(err.message, /belongs to role .*; once mended, `evolve run \S+` resumes it$/, "the step's own reason")
          assert.doesNotMatch(err.message, /evolve failures/, 'not sent to a copy with no failures')
          return true
        })

        await db.knex.raw(`ALTER FUNCTION public.evolve_read_only_refuse() OWNER TO ${app.role}`)
        const rerun = await runCli(['run', ...project.flags])
        assert.equal(rerun.code, 0, output(rerun))
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
      } finally {
        await project.cleanup()
      }
    }))

  it('refuses in one line, adding no trigger, a table the role does not own though it may add triggers to it (it could never take them off); a member of the owner may', () =>
    withAppRole(ROWS, async (db, app) => {
      const owner = `${app.role}_owner`
      await db.knex.raw(`CREATE ROLE ${owner}`)
      try {
        await db.knex.schema.createTable('ledger', (t) => t.integer('id').primary())
        await db.knex.raw(`ALTER TABLE ledger OWNER TO ${owner}`)
        // What the message used to advise: with it, on succeeded and off, --for and a run's end could not drop the trigger.
        await db.knex.raw(`GRANT SELECT, INSERT, TRIGGER ON ledger TO ${app.role}`)
        const asApp = ['--db', app.url]
        const guardTriggers = async () =>
          Number((await db.knex.raw(`SELECT count(*) AS n FROM pg_trigger WHERE tgname LIKE 'evolve\\_read\\_only%'`)).rows[0].n)
        const readOnly = async () => JSON.parse((await runCli(['readonly', 'status', '--json', ...asApp])).stdout).readOnly

        for (const tables of ['ledger', 'items,ledger']) {
          const on = await runCli(['readonly', 'on', '--tables', tables, '--for', '1h', ...asApp])
          assertUsageError(on, [
            `role "${app.role}" does not own table ledger (role "${owner}" does)`,
            'could not take the read-only trigger off again',
            `run this as "${owner}" or a member of it (GRANT ${owner} TO ${app.role})`,
            'nothing changed',
          ])
          assert.doesNotMatch(on.stdout + on.stderr, /GRANT TRIGGER|CREATE|\$\$/, 'neither the old advice nor SQL')
          assert.equal(await guardTriggers(), 0, `no trigger added (--tables ${tables})`)
          assert.equal(await readOnly(), false)
        }
        await db.knex('items').where({ id: 1 }).update({ counter: 5 })
        await db.knex('ledger').insert({ id: 1 })

        // A mode: 'readonly' run on it is refused the same way before read-only goes on, and ends failed.
        const migration = migrationSource(`{ table: 'ledger', mode: 'readonly', batchSize: 10, up: async () => {} }`)
        const project = await makeProject({ ...db, url: app.url }, migration)
        try {
          // plan says so first; as a role that may (a superuser here), it does not.
          const plan = await runCli(['plan', ...project.flags])
          assert.equal(plan.code, 0, output(plan))
          assert.match(
            plan.stdout,
            new RegExp(
              `\\n  REFUSED read-only: role "${app.role}" does not own table ledger \\(role "${owner}" does\\).*GRANT ${owner} TO ${app.role}\\)\\n`,
            ),
          )
          assert.doesNotMatch(plan.stdout, /nothing changed/)
          const asOwner = await runCli(['plan', ...project.flags, '--db', db.url])
          assert.equal(asOwner.code, 0, output(asOwner))
          assert.doesNotMatch(asOwner.stdout, /REFUSED/)
          const run = await runCli(['run', ...project.flags])
          assertUsageError(run, [`role "${app.role}" does not own table ledger`, `GRANT ${owner} TO ${app.role}`])
          assert.equal(await guardTriggers(), 0, output(run))
          assert.equal((await db.knex('evolve_runs').where({ name: project.name }).first()).state, 'failed')
        } finally {
          await project.cleanup()
        }

        // The fix it names: then on and off both work.
        await db.knex.raw(`GRANT ${owner} TO ${app.role}`)
        const on = await runCli(['readonly', 'on', '--tables', 'items,ledger', ...asApp])
        assert.equal(on.code, 0, output(on))
        await assert.rejects(db.knex('ledger').insert({ id: 2 }), (err) => isReadOnlyError(err))
        const off = await runCli(['readonly', 'off', ...asApp])
        assert.equal(off.code, 0, output(off))
        assert.equal(await guardTriggers(), 0)
        await db.knex('ledger').insert({ id: 2 })
      } finally {
        await db.knex.raw(`DROP OWNED BY ${owner}`).catch(() => {})
        await db.knex.raw(`DROP ROLE IF EXISTS ${owner}`).catch(() => {})
      }
    }))

  it('refuses in one line to drop the trigger another role’s table carries, naming its owner and the fix', () =>
    withAppRole(ROWS, async (db, app, superuser) => {
      await db.knex.schema.createTable('ledger', (t) => t.integer('id').primary())
      await db.knex.raw(`GRANT SELECT, INSERT ON ledger TO ${app.role}`)
      const asApp = ['--db', app.url]
      const readOnly = async () => JSON.parse((await runCli(['readonly', 'status', '--json', ...asApp])).stdout)

      // The app's role makes the tracking tables (its own items); then the owner of ledger turns it
      // on for both, and the app's role may not take the trigger off that table.
      assert.equal((await runCli(['readonly', 'on', '--tables', 'items', ...asApp])).code, 0)
      assert.equal((await runCli(['readonly', 'on', '--tables', 'items,ledger', '--db', db.url])).code, 0)
      const off = await runCli(['readonly', 'off', ...asApp])
      assertUsageError(off, [
        `role "${app.role}" may not drop the read-only trigger on table ledger, which role "${superuser}" owns`,
        `run this as "${superuser}" or a member of it`,
      ])
      assert.equal((await readOnly()).readOnly, true, 'still on')
      await assert.rejects(db.knex('items').where({ id: 1 }).update({ counter: 6 }), (err) => isReadOnlyError(err))
      assert.equal((await runCli(['readonly', 'off', '--db', db.url])).code, 0)
    }))
})
