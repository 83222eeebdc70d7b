// Throttle sources: the config file's hook, --max-rows-per-second, --max-app-latency-ms
// (reported by the app or timed with a latency probe). While throttled, no batch runs and
// `status` says why.
import assert from 'node:assert/strict'
import { unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { reportAppLatency } from '../lib/index.ts'
import { runCli, spawnCli, statusJson } from './helpers/cli.ts'
import { type Dialect, dialects, fresh } from './helpers/databases.ts'
import {
  batchRows,
  countBatches,
  counterHistogram,
  createItems,
  makeProject,
  migrationSource,
  runRow,
  setMigration,
  waitUntil,
} from './helpers/fixtures.ts'

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

/** The planned rows of a run's batches, each with when it was claimed (the database's clock, ms). */
async function claims(knex: Knex, name: string): Promise<{ planned: number; claimedAt: number }[]> {
  const rows: { planned: unknown; claimed_at: unknown }[] = await knex('evolve_batches').where({ run_name: name }).orderBy('id')
  return rows.map((r) => ({ planned: Number(r.planned), claimedAt: Number(r.claimed_at) }))
}

/** The most rows claimed within any one-second window (t - 1 s, t] of the run, by planned range size. */
function busiestSecond(all: { planned: number; claimedAt: number }[]): number {
  return Math.max(
    ...all.map((c) => all.filter((o) => o.claimedAt > c.claimedAt - 1000 && o.claimedAt <= c.claimedAt).reduce((s, o) => s + o.planned, 0)),
  )
}

/** The most rows that finished within any one-second window (t - 1 s, t] of the run. */
function worstSecond(done: { rows: number; finishedAt: number | null }[]): number {
  return Math.max(
    ...done.map((b) =>
      done.filter((o) => o.finishedAt! > b.finishedAt! - 1000 && o.finishedAt! <= b.finishedAt!).reduce((s, o) => s + o.rows, 0),
    ),
  )
}

/**
 * Runs 300 rows with a limit of 100 rows/s. A range's planned rows hold the budget from its claim
 * until a second has passed and its batch has finished (counting every worker's), and a batch takes
 * at most `limit` rows, so the ranges claimed in any window (t - 1 s, t] span at most `limit` rows,
 * and the rows finishing in one (claimed in that second, or in flight at its start) at most 2 × limit.
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
    const claimed = busiestSecond(await claims(db.knex, project.name))
    assert.ok(
      claimed <= limit,
      `ranges of ${claimed} rows claimed within one second with ${workers} worker(s) and a limit of ${limit} rows/s`,
    )
    const worst = worstSecond(done)
    assert.ok(worst <= 2 * limit, `${worst} rows finished within one second with ${workers} worker(s) and a limit of ${limit} rows/s`)
    assert.deepEqual([...reasons], [`max ${limit} rows/s`], 'the run showed why it held back')
    assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
  } finally {
    await project.cleanup()
    await db.drop()
  }
}

describe('--max-rows-per-second', { concurrency: true }, () => {
  it('keeps the ranges claimed in any one-second window within the limit (the rows finished within twice it), and says so in the run', async () => {
    await assertRateBounded(1)
  })

  it('bounds the rows of all three workers of --workers 3 together, not each worker alone', async () => {
    await assertRateBounded(3)
  })
})

describe('maxRowsPerSecond with batches that do not divide it', { concurrency: true }, () => {
  for (const dialect of dialects) {
    it(`on ${dialect}: two processes of two workers share 40 rows/s with batches of 30: a batch takes what is left of the second, never more`, async () => {
      const db = await fresh(dialect)
      const rows = 160
      const limit = 40
      await createItems(db.knex, rows)
      const project = await makeProject(db, setMigration(30))
      try {
        const flags = ['run', ...project.flags, '--batch-size', '30', '--max-rows-per-second', String(limit), '--workers', '2']
        for (const result of await Promise.all([spawnCli(flags).exited, spawnCli(flags).exited]))
          assert.equal(result.code, 0, result.stderr)
        assert.deepEqual(await counterHistogram(db.knex), { 1: rows })

        const all = await claims(db.knex, project.name)
        assert.ok(busiestSecond(all) <= limit, `claims spanning ${busiestSecond(all)} rows within one second, with a limit of ${limit}`)
        // Whole batches of 30 fit once a second (30 + 30 > 40): the run would pace at 30 rows/s.
        assert.ok(
          all.some((c) => c.planned < 30),
          `a batch took what was left of a second: ${all.map((c) => c.planned).join(',')}`,
        )
        assert.equal(busiestSecond(all), limit, 'some second was spent in full')
      } finally {
        await project.cleanup()
        await db.drop()
      }
    })
  }
})

/** A `set` migration over `items` whose `pending` matches the rows with counter 0 (the others need nothing). */
const sparseMigration = migrationSource(`{
  table: 'items',
  batchSize: 1000,
  pending: (q) => q.where('counter', 0),
  set: { counter: (knex) => knex.raw('counter + 1') },
}`)

/** The most rows evolved by the batches claimed within any one-second window (t - 1 s, t] of the run. */
function busiestEvolvedSecond(batches: { rows: number; claimedAt: number | null }[]): number {
  const claimed = batches.filter((b) => b.claimedAt !== null)
  return Math.max(
    ...claimed.map((b) =>
      claimed.filter((o) => o.claimedAt! > b.claimedAt! - 1000 && o.claimedAt! <= b.claimedAt!).reduce((s, o) => s + o.rows, 0),
    ),
  )
}

/**
 * Two processes of two workers run `items` where only the rows `pendingIds` picks need evolving
 * (the others have counter 1 already), with a limit of `limit` rows/s; returns what evolve_batches
 * shows of the run. Every row ends evolved once.
 */
async function runSparse(dialect: Dialect, rows: number, pendingIds: string, limit: number) {
  const db = await fresh(dialect)
  await createItems(db.knex, rows)
  await db.knex('items').whereRaw(`NOT (${pendingIds})`).update({ counter: 1 })
  const project = await makeProject(db, sparseMigration)
  try {
    const flags = ['run', ...project.flags, '--max-rows-per-second', String(limit), '--workers', '2']
    for (const result of await Promise.all([spawnCli(flags).exited, spawnCli(flags).exited])) assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
    const batches = (await batchRows(db.knex, project.name)).filter((b) => b.state === 'done')
    const widest = Math.max(...(await claims(db.knex, project.name)).map((c) => c.planned))
    return { widest, evolved: busiestEvolvedSecond(batches) }
  } finally {
    await project.cleanup()
    await db.drop()
  }
}

// The limit counts rows evolved: finished batches by their rows, running ones by their planned keys
// × the density of pending rows of the run's recent ranges. It is exceeded only by what the ranges
// still running at a second's last claim evolve beyond their estimates: at most one range per worker,
// each spanning at most the limit in keys (docs/configuration.md, "What maxRowsPerSecond counts").
describe('maxRowsPerSecond where pending matches few rows', { concurrency: true }, () => {
  const workers = 4
  for (const dialect of dialects) {
    it(`on ${dialect}: with one row in ten pending, the rows evolved per second reach the limit instead of a tenth of it`, async () => {
      const limit = 40
      const { widest, evolved } = await runSparse(dialect, 1000, 'id % 10 = 0', limit)
      // Counted in keys, a second's 40 keys held 4 pending rows: the run paced at 4 rows/s.
      assert.ok(evolved >= limit / 2, `the busiest second evolved ${evolved} rows, with a limit of ${limit} rows/s`)
      assert.ok(
        evolved <= limit + workers * widest,
        `the busiest second evolved ${evolved} rows: more than ${limit} and one range of ${widest} keys per worker`,
      )
    })
  }

  it('on postgres: with the pending rows bunched at the end of the table, a second evolves no more than the limit and one range per worker', async () => {
    const limit = 100
    // 1,600 keys with nothing to evolve teach the run a density of 0; then every key is pending.
    const { widest, evolved } = await runSparse('postgres', 2000, 'id > 1600', limit)
    assert.ok(widest <= limit, `a range spanned ${widest} keys, more than the limit of ${limit}`)
    assert.ok(
      evolved <= limit + workers * widest,
      `the busiest second evolved ${evolved} rows: more than ${limit} and one range of ${widest} keys per worker`,
    )
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
