// A `mode: 'readonly'` migration: read-only on for its table while it runs (the app reads, its
// writes are refused), kept on when the runner is killed -9, and turned off by the rerun that finishes.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isReadOnlyError } from '../lib/index.ts'
import { READ_ONLY_NOTICE } from '../lib/core/read-only-run.ts'
import { runCli, spawnCli } from './helpers/cli.ts'
import { dialects, fresh } from './helpers/databases.ts'
import { counterHistogram, countBatches, createItems, makeProject, setMigration, upMigration, waitUntil } from './helpers/fixtures.ts'

const ROWS = 200

for (const dialect of dialects) {
  describe(`mode: 'readonly' migrations on ${dialect}`, () => {
    it('keep the table read-only while they run and after a kill -9, and the rerun finishes and turns it off', async () => {
      const db = await fresh(dialect)
      await createItems(db.knex, ROWS)
      await db.knex.schema.createTable('other', (t) => t.integer('id').primary())
      const migration = upMigration({ batchSize: 10, sleepPerBatchMs: 40 }).replace('batchSize: 10,', "batchSize: 10,\n  mode: 'readonly',")
      const project = await makeProject(db, migration)
      try {
        const run = spawnCli(['run', ...project.flags, '--batch-size', '10'], { cwd: project.dir })
        await waitUntil('a few batches done', async () => (await countBatches(db.knex, project.name, { state: 'done' })) >= 3)
        // The app meanwhile: reads work, writes to the migration's table are refused, other tables are writable.
        assert.equal(Number((await db.knex('items').count({ n: '*' }))[0]!.n), ROWS)
        await assert.rejects(db.knex('items').where({ id: 1 }).update({ counter: 99 }), (err) => isReadOnlyError(err))
        await db.knex('other').insert({ id: 1 })
        const killed = await run.kill('SIGKILL')
        assert.equal(killed.signal, 'SIGKILL')
        // The run said when the app's writes began to be refused.
        assert.match(killed.stdout, /^read-only: on for items \(by run 20260101000000_bump\): the app's writes there are refused$/m)

        const status = await runCli(['readonly', 'status', ...project.dbFlags])
        assert.match(status.stdout, /READ-ONLY: ON for items .* by run 20260101000000_bump/)
        // What the app's users are told names no migration file or table: operators see the run in `by`.
        const told = JSON.parse((await runCli(['readonly', 'status', '--json', ...project.dbFlags])).stdout).message
        assert.equal(told, READ_ONLY_NOTICE)
        assert.match(status.stdout, /evolve run 20260101000000_bump/)
        assert.match(status.stdout, /turn it off: evolve readonly off/)
        const overview = await runCli(['status', ...project.dbFlags])
        assert.match(overview.stdout, /^READ-ONLY: ON/)
        await assert.rejects(db.knex('items').insert({ id: ROWS + 1, counter: 0 }), (err) => isReadOnlyError(err))

        const plan = await runCli(['plan', ...project.flags], { cwd: project.dir })
        assert.match(plan.stdout, /^ {2}read-only: the app's writes to items are refused while it runs \(mode: 'readonly'\)$/m)
        assert.equal(JSON.parse((await runCli(['plan', '--json', ...project.flags], { cwd: project.dir })).stdout)[0].readOnly, true)
        const rerun = await runCli(['run', ...project.flags, '--batch-size', '10'], { cwd: project.dir })
        assert.equal(rerun.code, 0, rerun.stderr)
        // The rerun found it on (the killed run's) and says when the app's writes go through again.
        assert.match(rerun.stdout, /^read-only: off: the app's writes go through again$/m)
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
        const after = JSON.parse((await runCli(['readonly', 'status', '--json', ...project.dbFlags])).stdout)
        assert.equal(after.readOnly, false)
        await db.knex('items').insert({ id: ROWS + 1, counter: 1 })
        const audit = await db.knex('evolve_read_only_audit').orderBy('id')
        assert.deepEqual(
          audit.map((a) => [a.action, a.by]),
          [
            ['on', 'run 20260101000000_bump'],
            ['on', 'run 20260101000000_bump'],
            ['off', 'run 20260101000000_bump'],
          ],
        )
      } finally {
        await project.cleanup()
        await db.drop()
      }
    })

    it('of `set` mode resume after a kill -9 while their table is read-only: the rerun checks `set` past the guard and finishes', async () => {
      const db = await fresh(dialect)
      await createItems(db.knex, ROWS)
      const migration = setMigration(10).replace(
        'batchSize: 10,',
        "batchSize: 10,\n  mode: 'readonly',\n  readOnlyMessage: 'Prices are being updated: back in a minute.',",
      )
      const project = await makeProject(db, migration)
      try {
        // 50 rows a second: four seconds of batches, time to kill the runner in the middle.
        const run = spawnCli(['run', ...project.flags, '--batch-size', '10', '--max-rows-per-second', '50'], { cwd: project.dir })
        await waitUntil('a few batches done', async () => (await countBatches(db.knex, project.name, { state: 'done' })) >= 3)
        await run.kill('SIGKILL')
        await assert.rejects(db.knex('items').where({ id: 1 }).update({ counter: 99 }), (err) => isReadOnlyError(err))
        const told = JSON.parse((await runCli(['readonly', 'status', '--json', ...project.dbFlags])).stdout).message
        assert.equal(told, 'Prices are being updated: back in a minute.', "the file's readOnlyMessage")

        // PostgreSQL's guard fires per statement: the check of `set` (an UPDATE matching no row) was refused.
        const rerun = await runCli(['run', ...project.flags, '--batch-size', '10'], { cwd: project.dir })
        assert.equal(rerun.code, 0, rerun.stderr)
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
        assert.equal(JSON.parse((await runCli(['readonly', 'status', '--json', ...project.dbFlags])).stdout).readOnly, false)
      } finally {
        await project.cleanup()
        await db.drop()
      }
    })

    it('use an operator’s switch that covers their table as it is, and leave it on; one that does not is refused, unchanged', async () => {
      const db = await fresh(dialect)
      await createItems(db.knex, 30)
      await db.knex.schema.createTable('other', (t) => t.integer('id').primary())
      const migration = upMigration({ batchSize: 10 }).replace('batchSize: 10,', "batchSize: 10,\n  mode: 'readonly',")
      const project = await makeProject(db, migration)
      const readOnly = async () => JSON.parse((await runCli(['readonly', 'status', '--json', ...project.dbFlags])).stdout)
      try {
        // On for another table only: the run would have to change the operator's switch.
        assert.equal((await runCli(['readonly', 'on', '--tables', 'other', '--message', 'other frozen', ...project.dbFlags])).code, 0)
        const before = await readOnly()
        const refused = await runCli(['run', ...project.flags], { cwd: project.dir })
        assert.equal(refused.code, 2, refused.stderr)
        assert.match(
          refused.stderr.trimEnd(),
          /^evolve: run 20260101000000_bump needs items read-only, but read-only is on for other by [^\n]*--tables other,items[^\n]*$/,
        )
        assert.deepEqual(await readOnly(), before, 'the switch as the operator left it')
        assert.equal(await db.knex('evolve_runs').where({ name: project.name }).first(), undefined, 'refused before the run started')
        await db.knex('items').where({ id: 1 }).update({ counter: 0 }) // items writable

        // On for every table: the run goes on under it and leaves it, message and all, to its owner.
        assert.equal((await runCli(['readonly', 'off', ...project.dbFlags])).code, 0)
        assert.equal((await runCli(['readonly', 'on', '--message', 'all frozen', ...project.dbFlags])).code, 0)
        const all = await readOnly()
        const done = await runCli(['run', ...project.flags], { cwd: project.dir })
        assert.equal(done.code, 0, done.stderr)
        assert.deepEqual(await counterHistogram(db.knex), { 1: 30 })
        assert.deepEqual(await readOnly(), all, 'still on, by the operator, with their message')
      } finally {
        await project.cleanup()
        await db.drop()
      }
    })
  })
}
