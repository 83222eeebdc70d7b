// The sweep: rows written in the old shape while a run is going, into key ranges the scan
// has already passed, are caught after the scan; rows a migration cannot move out of
// `pending` end the run `failed` instead of being swept forever.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { output, runCli, spawnCli, statusJson } from './helpers/cli.ts'
import { dialects, type FreshDatabase, withDb } from './helpers/databases.ts'
import {
  countBatches,
  failureRows,
  insertChunked,
  migrationSource,
  rowsOf,
  runRow,
  tempDir,
  waitUntil,
  writeFiles,
} from './helpers/fixtures.ts'

const oldShape = (id: number) => `Item-${id}@Example.COM`
const newShape = (id: number) => oldShape(id).toLowerCase()

/** A migration that declines the rows of `stuckIds`: they stay pending however often they are handed over. */
const forgetful = (stuckIds: number[]) =>
  migrationSource(`{
    table: 'items',
    pending: (q) => q.whereRaw('email <> lower(email)'),
    transform: (row) => (${JSON.stringify(stuckIds)}.includes(row.id) ? null : { email: row.email.toLowerCase() }),
  }`)

/** items (id, email): ids 2, 4, …, 2 * count, every row in the old shape. */
async function seedItems(db: FreshDatabase, count: number): Promise<void> {
  await db.knex.schema.createTable('items', (t) => {
    t.integer('id').primary()
    t.string('email', 255).notNullable()
  })
  await insertChunked(
    db.knex,
    'items',
    Array.from({ length: count }, (_, i) => ({ id: 2 * (i + 1), email: oldShape(2 * (i + 1)) })),
  )
}

/**
 * evolve.config.ts for `db` whose throttle hook holds the run back, between two batches,
 * from its fourth batch on until the `gate` file exists.
 */
function gatedConfig(db: FreshDatabase, gate: string): string {
  const connection = db.dialect === 'postgres' ? JSON.stringify(db.url) : `{ filename: ${JSON.stringify(db.file)} }`
  return `import { existsSync } from 'node:fs'
import { defineConfig } from 'evolvekit'
let calls = 0
export default defineConfig({
  client: '${db.dialect === 'postgres' ? 'pg' : 'better-sqlite3'}',
  connection: ${connection},
  migrations: { directory: './migrations' },
  throttle: async () => (++calls > 4 && !existsSync(${JSON.stringify(gate)}) ? { reason: 'held by the test', ms: 20 } : false),
})
`
}

const LOWER = `{
  table: 'items',
  pending: (q) => q.whereRaw('email <> lower(email)'),
  transform: (row) => ({ email: row.email.toLowerCase() }),
}`

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('rows written in the old shape into ranges the scan already passed are caught by the sweep', () =>
      withDb(d, async (db) => {
        const count = 200
        await seedItems(db, count)
        const cwd = await tempDir('evk-sweep-')
        const gate = path.join(cwd, 'app-is-done')
        // The config's throttle hook holds the run between two batches until the test has
        // written: the writes land mid-scan however fast or loaded the machine is.
        await writeFiles(
          {
            'evolve.config.ts': gatedConfig(db, gate),
            'migrations/001_lower.ts': migrationSource(LOWER),
          },
          cwd,
        )

        const cli = spawnCli(['run', '--batch-size', '20'], { cwd })
        await waitUntil('the run to be held', async () => (await runRow(db.knex, '001_lower'))?.throttleReason === 'held by the test')
        // The total (rows pending at the start) is counted before the app writes below.
        await waitUntil(
          'the total to be counted',
          async () => (await db.knex('evolve_runs').where({ name: '001_lower' }).first())?.total_estimate != null,
        )
        assert.ok((await countBatches(db.knex, '001_lower', { state: 'done' })) >= 1, 'some batches are done')
        const [first] = await db.knex('items').where({ id: 2 })
        assert.equal(first.email, newShape(2), 'row 2 was evolved by the scan already')
        assert.equal((await runRow(db.knex, '001_lower'))?.phase, 'scan', 'the scan is still going')

        // An old app instance: row 2 back to the old shape, new old-shape rows in passed ranges
        // (odd ids between the evolved even ones) and one past the end of the table.
        const written = [3, 5, 7, 10_001]
        await db
          .knex('items')
          .where({ id: 2 })
          .update({ email: oldShape(2) })
        await db.knex('items').insert(written.map((id) => ({ id, email: oldShape(id) })))
        await writeFile(gate, '')

        const result = await cli.exited
        assert.equal(result.code, 0, output(result))

        const rows = await rowsOf(db.knex, 'items')
        assert.equal(rows.length, count + written.length)
        for (const row of rows) assert.equal(row.email, newShape(row.id as number), `row ${row.id}`)
        const run = await runRow(db.knex, '001_lower')
        assert.equal(run?.state, 'done')
        assert.ok(run!.sweepPass >= 1, `sweep pass ${run!.sweepPass}`)
        assert.ok((await countBatches(db.knex, '001_lower', { phase: 'sweep' })) >= 1, 'sweep batches ran')

        const status = await statusJson('001_lower', [], { cwd })
        assert.equal(status.state, 'done')
        assert.equal(status.failed, 0)
        // Each row counts once: the scan's 200 and row 10,001 it met past the old end; row 2, evolved
        // again by the sweep, is not counted twice (nor are the rows the sweep found in passed ranges).
        assert.equal(status.done, count + 1, JSON.stringify(status))
        assert.equal(status.total, count + 1, 'the total grew to the row the scan met beyond it')
      }))

    it('a migration that never moves its rows out of pending ends failed with those rows recorded, not looping forever', () =>
      withDb(d, async (db) => {
        await seedItems(db, 30)
        const stuckIds = [4, 10, 22, 60]
        const dir = await writeFiles({ '001_forgetful.ts': forgetful(stuckIds) })

        const result = await runCli(['run', '--db', db.url, '--dir', dir])
        assert.equal(result.code, 1, output(result))

        const run = await runRow(db.knex, '001_forgetful')
        assert.equal(run?.state, 'failed')
        assert.ok(run!.sweepPass >= 1, 'it swept before giving up')
        const failures = await failureRows(db.knex, '001_forgetful')
        assert.deepEqual(
          failures.map((f) => f.key),
          stuckIds,
        )
        for (const f of failures) assert.match(f.error, /pending/)
        const rows = await rowsOf(db.knex, 'items')
        for (const row of rows) {
          const id = row.id as number
          assert.equal(row.email, stuckIds.includes(id) ? oldShape(id) : newShape(id), `row ${id}`)
        }
        const failuresCli = await runCli(['failures', '001_forgetful', '--json', '--db', db.url, '--dir', dir])
        assert.equal(failuresCli.code, 0, output(failuresCli))
        assert.deepEqual(
          (JSON.parse(failuresCli.stdout) as { failures: { key: number }[] }).failures.map((f) => f.key).sort((a, b) => a - b),
          stuckIds,
        )
      }))

    it('a migration that leaves every row pending stops at maxFailures in its sweep, recording that many, and counts each row once', () =>
      withDb(d, async (db) => {
        const count = 1111
        await db.knex.schema.createTable('docs', (t) => {
          t.integer('id').primary()
          t.text('title')
        })
        await insertChunked(
          db.knex,
          'docs',
          Array.from({ length: count }, (_, i) => ({ id: i + 1, title: `Title 1${i + 1}` })),
        )
        const dir = await writeFiles({
          '4_noop.ts': migrationSource(`{
            table: 'docs',
            pending: (q) => q.where('title', 'like', 'Title 1%'),
            transform: (r) => ({ title: r.title }),
          }`),
        })

        const result = await runCli(['run', '--db', db.url, '--dir', dir])
        assert.equal(result.code, 1, output(result))

        const run = await runRow(db.knex, '4_noop')
        assert.equal(run?.state, 'failed')
        assert.equal(run?.sweepPass, 1, 'it stopped in its first sweep')
        assert.match(run?.lastError ?? '', /^stopped after 100 failed objects \(maxFailures 100\)/)
        assert.equal((await failureRows(db.knex, '4_noop')).length, 100, 'the sweep recorded no more than maxFailures')

        const status = await statusJson('4_noop', ['--db', db.url, '--dir', dir])
        assert.equal(status.failed, 100)
        assert.equal(status.total, count)
        assert.equal(status.done, count, 'the rows the scan evolved, each once: the sweep evolving them again adds none')
      }))

    it('rows a sweep recorded as still pending, retried after the migration is fixed, are counted done once', () =>
      withDb(d, async (db) => {
        const count = 30
        await seedItems(db, count)
        const stuckIds = [4, 10, 22, 60]
        const dir = await writeFiles({ '001_forgetful.ts': forgetful(stuckIds) })
        const first = await runCli(['run', '--db', db.url, '--dir', dir])
        assert.equal(first.code, 1, output(first))
        assert.equal((await failureRows(db.knex, '001_forgetful')).length, stuckIds.length)

        // The fix: every row now leaves the pending set.
        await writeFiles({ '001_forgetful.ts': migrationSource(LOWER) }, dir)
        const retry = await runCli(['retry', '001_forgetful', '--db', db.url, '--dir', dir])
        assert.equal(retry.code, 0, output(retry))

        const status = await statusJson('001_forgetful', ['--db', db.url, '--dir', dir])
        assert.equal(status.state, 'done')
        assert.equal(status.failed, 0)
        assert.equal(status.total, count)
        assert.equal(status.done, count, JSON.stringify(status))
        for (const row of await rowsOf(db.knex, 'items')) assert.equal(row.email, newShape(row.id as number), `row ${row.id}`)
      }))
  })
}
