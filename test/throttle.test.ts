// Throttle sources: the config file's hook, --max-rows-per-second, --max-app-latency-ms
// (reported by the app or timed with a latency probe). While throttled, no batch runs and
// `status` says why.
import assert from 'node:assert/strict'
import { unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { reportAppLatency } from '../lib/index.ts'
import { runCli, spawnCli, statusJson } from './helpers/cli.ts'
import { type Dialect, fresh } from './helpers/databases.ts'
import { batchRows, countBatches, counterHistogram, createItems, makeProject, runRow, setMigration, waitUntil } from './helpers/fixtures.ts'

const throttleReason = async (knex: Parameters<typeof runRow>[0], name: string) =>
  ((await runRow(knex, name))?.throttleReason as string | null | undefined) ?? null

async function hookHoldsBackUntilMarkerIsGone(dialect: Dialect, hookAnswer: string, reason: string) {
  const db = await fresh(dialect)
  const rows = 100
  await createItems(db.knex, rows)
  // The config's hook looks for a marker file next to it, which the test creates and deletes.
  const project = await makeProject(db, setMigration(10), {
    config: `throttle: async () => (fs.existsSync(new URL('./maintenance.flag', import.meta.url)) ? ${hookAnswer} : false),`,
  })
  const marker = path.join(project.dir, 'maintenance.flag')
  await writeFile(marker, '')
  try {
    const run = spawnCli(['run'], { cwd: project.dir })
    await waitUntil(`throttle_reason "${reason}"`, async () => (await throttleReason(db.knex, project.name)) === reason)

    const [json, text] = await Promise.all([
      statusJson(project.name, project.dbFlags, { cwd: project.dir }),
      runCli(['status', ...project.dbFlags], { cwd: project.dir }),
    ])
    assert.equal(json.state, 'running')
    assert.equal(json.throttled, reason)
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, new RegExp(`running, throttled \\(${reason}\\)`))
    assert.equal(await countBatches(db.knex, project.name, { state: 'done' }), 0, 'no batch ran while throttled')
    assert.equal(run.child.exitCode, null, 'the throttled run waits instead of exiting')

    await unlink(marker)
    const result = await run.exited
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
    assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
    assert.equal(await throttleReason(db.knex, project.name), null, 'the reason is cleared once the hook lets go')
  } finally {
    await project.cleanup()
    await db.drop()
  }
}

// The two tests of a block mostly wait on child processes: they run side by side.
describe('a throttle hook in evolve.config.ts', { concurrency: true }, () => {
  it('holds a PostgreSQL run back with its reason while it answers { reason }, and lets it finish after', async () => {
    await hookHoldsBackUntilMarkerIsGone('postgres', "{ reason: 'maintenance window' }", 'maintenance window')
  })

  it('holds a SQLite run back as "throttle hook" while it answers true, and lets it finish after', async () => {
    await hookHoldsBackUntilMarkerIsGone('sqlite', 'true', 'throttle hook')
  })
})

/** The most rows that finished within any one-second window (t - 1 s, t] of the run. */
function worstSecond(done: { rows: number; finishedAt: number | null }[]): number {
  return Math.max(
    ...done.map((b) =>
      done.filter((o) => o.finishedAt! > b.finishedAt! - 1000 && o.finishedAt! <= b.finishedAt!).reduce((s, o) => s + o.rows, 0),
    ),
  )
}

/**
 * Runs 300 rows with a limit of 100 rows/s. A batch may start only while fewer than `limit`
 * rows finished in the last second (counting those in flight on other workers), and takes at
 * most `limit` rows, so the rows finishing in any window (t - 1 s, t] stay below 2 × limit.
 * Unthrottled, the adaptive size would take all 300 rows in one or two fast batches.
 */
async function assertRateBounded(workers: number): Promise<void> {
  const db = await fresh('postgres')
  const rows = 300
  const limit = 100
  await createItems(db.knex, rows)
  const project = await makeProject(db, setMigration(1000))
  try {
    const run = spawnCli(['run', ...project.flags, '--max-rows-per-second', String(limit), '--workers', String(workers)])
    const reasons = new Set<string>()
    let finished = false
    const watch = (async () => {
      while (!finished) {
        const reason = await throttleReason(db.knex, project.name)
        if (reason) reasons.add(reason)
        await sleep(20)
      }
    })()
    const result = await run.exited
    finished = true
    await watch
    assert.equal(result.code, 0, result.stderr)

    const done = (await batchRows(db.knex, project.name)).filter((b) => b.state === 'done')
    assert.ok(
      done.every((b) => b.rows <= limit),
      `batch rows ${done.map((b) => b.rows).join(',')}`,
    )
    const worst = worstSecond(done)
    assert.ok(worst < 2 * limit, `${worst} rows finished within one second with ${workers} worker(s) and a limit of ${limit} rows/s`)
    assert.deepEqual([...reasons], [`max ${limit} rows/s`], 'the run showed why it held back')
    assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
  } finally {
    await project.cleanup()
    await db.drop()
  }
}

describe('--max-rows-per-second', { concurrency: true }, () => {
  it('keeps the rows finished in any one-second window below twice the limit, and says so in the run', async () => {
    await assertRateBounded(1)
  })

  it('bounds the rows of all three workers of --workers 3 together, not each worker alone', async () => {
    await assertRateBounded(3)
  })
})

describe('--max-app-latency-ms', { concurrency: true }, () => {
  it('holds back while the app reports a latency above the limit and goes on once it reports a low one', async () => {
    const db = await fresh('sqlite')
    const rows = 100
    await createItems(db.knex, rows)
    const project = await makeProject(db, setMigration(10))
    // A report is trusted for 10 s: keep reporting while the test looks.
    let reporting = true
    await reportAppLatency(db.knex, 500)
    const reporter = (async () => {
      while (reporting) {
        await reportAppLatency(db.knex, 500)
        await sleep(1000)
      }
    })()
    try {
      const run = spawnCli(['run', ...project.flags, '--max-app-latency-ms', '100'])
      const reason = await waitUntil('an app latency throttle', async () => {
        const r = await throttleReason(db.knex, project.name)
        return r?.includes('app latency') ? r : undefined
      })
      assert.match(reason, /app latency 500 ms > 100 ms/)
      const json = await statusJson(project.name, project.dbFlags, { cwd: project.dir })
      assert.match(json.throttled ?? '', /app latency/)
      assert.equal(await countBatches(db.knex, project.name, { state: 'done' }), 0, 'no batch ran while the app was slow')
      assert.equal(run.child.exitCode, null)

      reporting = false
      await reporter
      await reportAppLatency(db.knex, 10)
      const result = await run.exited
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
      assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
    } finally {
      reporting = false
      await reporter
      await project.cleanup()
      await db.drop()
    }
  })

  it('holds a PostgreSQL run back while the config latencyProbe takes longer than maxAppLatencyMs', async () => {
    const db = await fresh('postgres')
    await createItems(db.knex, 100)
    const project = await makeProject(db, setMigration(10), {
      config: "latencyProbe: 'select pg_sleep(0.3)', maxAppLatencyMs: 100,",
    })
    try {
      const run = spawnCli(['run'], { cwd: project.dir })
      const reason = await waitUntil('an app latency throttle', async () => {
        const r = await throttleReason(db.knex, project.name)
        return r?.includes('app latency') ? r : undefined
      })
      assert.match(reason, /^app latency \d+ ms > 100 ms$/)
      assert.ok(Number(/(\d+) ms >/.exec(reason)![1]) >= 300, reason)
      assert.equal(await countBatches(db.knex, project.name, { state: 'done' }), 0, 'no batch ran while the probe was slow')
      assert.equal(run.child.exitCode, null)
      await run.kill('SIGKILL')
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })
})
