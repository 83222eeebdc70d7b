// Batches taken from the pending queue (the halves of a split batch, `evolve retry`'s) wait for a
// rows-per-second limit like new ranges: a run whose batches keep splitting stays within it.
// Measured from evolve_batches on the database's clock, with the bounds the limit's other tests
// hold (throttle.test.ts): the batches claimed within any one second evolve at most the limit
// (every row is pending, so the estimates are exact), the rows finished within one at most twice it.
import assert from 'node:assert/strict'
import { unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { runCli, spawnCli } from './helpers/cli.ts'
import { type Dialect, dialects, fresh } from './helpers/databases.ts'
import {
  type BatchRow,
  batchRows,
  counterHistogram,
  createItems,
  failureRows,
  makeProject,
  migrationSource,
  runRow,
} from './helpers/fixtures.ts'

const ROWS = 1000
const LIMIT = 100

/** An `up` that throws for any batch holding a row whose id is a multiple of 20: every range splits down to those rows. */
const splittingMigration = migrationSource(`{
  table: 'items',
  batchSize: ${LIMIT},
  maxFailures: ${ROWS},
  async up(rows, { trx }) {
    if (rows.some((r) => Number(r.id) % 20 === 0)) throw new Error('a bad row in this batch')
    await trx('items').whereIn('id', rows.map((r) => r.id)).update({ counter: 1 })
  },
}`)

/** The most rows that finished within any one-second window (t - 1 s, t] of the run. */
function worstSecond(batches: BatchRow[]): number {
  const done = batches.filter((b) => b.finishedAt !== null)
  return Math.max(
    ...done.map((b) =>
      done.filter((o) => o.finishedAt! > b.finishedAt! - 1000 && o.finishedAt! <= b.finishedAt!).reduce((s, o) => s + o.rows, 0),
    ),
  )
}

/** The most rows evolved by the batches claimed within any one-second window (t - 1 s, t] of the run. */
function busiestClaimedSecond(batches: BatchRow[]): number {
  const claimed = batches.filter((b) => b.claimedAt !== null)
  return Math.max(
    ...claimed.map((b) =>
      claimed.filter((o) => o.claimedAt! > b.claimedAt! - 1000 && o.claimedAt! <= b.claimedAt!).reduce((s, o) => s + o.rows, 0),
    ),
  )
}

/**
 * Two processes of two workers run the splitting migration over `items` with the limit; returns what
 * evolve_batches shows of the run. Every row but the bad ones ends evolved.
 */
async function runSplitting(dialect: Dialect): Promise<BatchRow[]> {
  const db = await fresh(dialect)
  await createItems(db.knex, ROWS)
  const project = await makeProject(db, splittingMigration)
  try {
    const flags = ['run', ...project.flags, '--max-rows-per-second', String(LIMIT), '--workers', '2']
    const results = await Promise.all([spawnCli(flags).exited, spawnCli(flags).exited])
    const run = await runRow(db.knex, project.name)
    assert.match(run?.lastError ?? '', /^50 objects failed/, results.map((r) => r.stderr).join('\n'))
    assert.deepEqual(await counterHistogram(db.knex), { 0: ROWS / 20, 1: ROWS - ROWS / 20 })
    return await batchRows(db.knex, project.name)
  } finally {
    await project.cleanup()
    await db.drop()
  }
}

describe('maxRowsPerSecond with batches from the pending queue', { concurrency: true }, () => {
  for (const dialect of dialects) {
    it(`on ${dialect}: a run whose every range splits over failing rows evolves no more than the limit by the batches claimed in any one second, halves included`, async () => {
      const batches = await runSplitting(dialect)
      const splits = batches.filter((b) => b.state === 'split').length
      assert.ok(splits >= 50, `${splits} batches were split`)
      const claimed = busiestClaimedSecond(batches)
      assert.ok(claimed <= LIMIT, `the batches claimed within one second evolved ${claimed} rows, with a limit of ${LIMIT} rows/s`)
      const worst = worstSecond(batches)
      assert.ok(worst <= 2 * LIMIT, `${worst} rows finished within one second, with a limit of ${LIMIT} rows/s`)
    })
  }
})

/** A transform that throws for the even ids while `marker` exists: each row is recorded on its own, nothing splits. */
const failingWhile = (marker: string) =>
  migrationSource(
    `{
  table: 'items',
  batchSize: ${LIMIT},
  maxFailures: ${ROWS},
  transform: (row) => {
    if (existsSync(${JSON.stringify(marker)}) && Number(row.id) % 2 === 0) throw new Error('not yet')
    return { counter: 1 }
  },
}`,
    "import { existsSync } from 'node:fs'",
  )

describe('maxRowsPerSecond and evolve retry', { concurrency: true }, () => {
  for (const dialect of dialects) {
    it(`on ${dialect}: the retry batches of ${ROWS / 2} failed objects, all queued at once, evolve no more than the limit by the batches claimed in any one second`, async () => {
      const db = await fresh(dialect)
      await createItems(db.knex, ROWS)
      let marker = ''
      const project = await makeProject(db, (dir) => failingWhile((marker = path.join(dir, 'failing.flag'))))
      try {
        await writeFile(marker, '')
        const run = await runCli(['run', ...project.flags])
        assert.equal((await failureRows(db.knex, project.name)).length, ROWS / 2, run.stderr)
        await unlink(marker)
        const retry = await runCli(['retry', project.name, ...project.flags, '--max-rows-per-second', String(LIMIT), '--workers', '2'])
        assert.equal(retry.code, 0, retry.stderr)
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
        const retried = (await batchRows(db.knex, project.name)).filter((b) => b.phase === 'retry')
        const claimed = busiestClaimedSecond(retried)
        assert.ok(claimed <= LIMIT, `the retry batches claimed within one second evolved ${claimed} rows, with a limit of ${LIMIT} rows/s`)
        const worst = worstSecond(retried)
        assert.ok(worst <= 2 * LIMIT, `${worst} rows finished within one second, with a limit of ${LIMIT} rows/s`)
      } finally {
        await project.cleanup()
        await db.drop()
      }
    })
  }
})
