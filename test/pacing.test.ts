// The adaptive batch size: it moves toward targetBatchMs (default 50 ms) unless --batch-size fixes it.
// The batches' speed is set by sleeps (lower bounds) or by the target, never by how fast the machine is.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runCli, statusJson } from './helpers/cli.ts'
import { dialects, fresh } from './helpers/databases.ts'
import {
  batchRows,
  counterHistogram,
  createItems,
  keysInRange,
  makeProject,
  runRow,
  setMigration,
  upMigration,
} from './helpers/fixtures.ts'

// The dialects' suites mostly wait on child processes: they run side by side.
describe('the adaptive batch size', { concurrency: 2 }, () => {
  for (const dialect of dialects) {
    describe(`on ${dialect}`, { concurrency: 1 }, () => {
      it('shrinks below the starting size when batches take longer than the target', async () => {
        const db = await fresh(dialect)
        const rows = 600
        await createItems(db.knex, rows)
        // 2 ms per row: a 200-row batch takes 400 ms or more, eight times the 50 ms target.
        const project = await makeProject(db, upMigration({ batchSize: 200, sleepPerRowMs: 2 }))
        try {
          const result = await runCli(['run', ...project.flags])
          assert.equal(result.code, 0, result.stderr)

          const scan = (await batchRows(db.knex, project.name)).filter((b) => b.phase === 'scan')
          const sizes = await Promise.all(scan.map((b) => keysInRange(db.knex, b.lo, b.hi)))
          assert.equal(sizes[0], 200, 'the first batch uses the starting size')
          assert.ok(sizes[1]! < 200, `the second batch is smaller: sizes ${sizes.join(',')}`)
          const stored = Number((await runRow(db.knex, project.name))!.batchSize)
          assert.ok(stored < 200, `evolve_runs.batch_size ${stored} is below the start`)
          const status = await statusJson(project.name, project.dbFlags, { cwd: project.dir })
          assert.equal(status.batchSize, stored, 'status --json shows the stored batch size')
          assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
        } finally {
          await project.cleanup()
          await db.drop()
        }
      })

      it('grows above a small starting size when batches are much faster than the target', async () => {
        const db = await fresh(dialect)
        const rows = 3000
        await createItems(db.knex, rows)
        const project = await makeProject(db, setMigration(20))
        try {
          // A one-minute target: every batch is much faster, however busy the machine.
          const result = await runCli(['run', ...project.flags, '--target-batch-ms', '60000'])
          assert.equal(result.code, 0, result.stderr)

          const scan = (await batchRows(db.knex, project.name)).filter((b) => b.phase === 'scan')
          const sizes = await Promise.all(scan.map((b) => keysInRange(db.knex, b.lo, b.hi)))
          assert.equal(sizes[0], 20, 'the first batch uses the starting size')
          // Far under the target, a batch grows by 4 (the most one step may): 20, 80, 320, …
          assert.equal(sizes[1], 80, `the second batch is 4 times bigger: sizes ${sizes.join(',')}`)
          assert.ok(Math.max(...sizes) > 80, `later batches are bigger still: sizes ${sizes.join(',')}`)
          const stored = Number((await runRow(db.knex, project.name))!.batchSize)
          assert.ok(stored > 20, `evolve_runs.batch_size ${stored} is above the start`)
          assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
        } finally {
          await project.cleanup()
          await db.drop()
        }
      })

      it('stays at exactly N keys per planned scan batch with --batch-size N', async () => {
        const db = await fresh(dialect)
        const rows = 700
        await createItems(db.knex, rows)
        // Slow batches (150 ms > the 100 ms target) would make an adaptive size shrink.
        const project = await makeProject(db, upMigration({ batchSize: 200, sleepPerBatchMs: 150 }))
        try {
          const result = await runCli(['run', ...project.flags, '--batch-size', '70'])
          assert.equal(result.code, 0, result.stderr)

          const scan = (await batchRows(db.knex, project.name)).filter((b) => b.phase === 'scan')
          const sizes = await Promise.all(scan.map((b) => keysInRange(db.knex, b.lo, b.hi)))
          assert.deepEqual(sizes, Array(rows / 70).fill(70))
          assert.equal(Number((await runRow(db.knex, project.name))!.batchSize), 70)
          assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
        } finally {
          await project.cleanup()
          await db.drop()
        }
      })
    })
  }
})
