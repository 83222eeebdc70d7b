// What a run tells the outside world: Prometheus metrics, JSON log lines, status --json.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { reportAppLatency } from '../lib/index.ts'
import { type CliResult, runCli, skewedClock, spawnCli, statusJson } from './helpers/cli.ts'
import { fresh, type FreshDatabase } from './helpers/databases.ts'
import {
  counterHistogram,
  createItems,
  freePort,
  makeProject,
  type Project,
  setMigration,
  upMigration,
  waitUntil,
} from './helpers/fixtures.ts'

/** The value of one sample line `name{labels} value`, or undefined when absent. */
function sample(body: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of body.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const have = match[2]!.split(',')
    if (wanted.every((w) => have.includes(w))) return Number(match[3])
  }
  return undefined
}

async function scrape(port: number, pathname = '/metrics'): Promise<{ status: number; type: string | null; body: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${pathname}`)
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
  } catch {
    return undefined // not listening (yet)
  }
}

describe('evolve run --metrics-port', () => {
  it('serves Prometheus metrics of the live run at GET /metrics and 404 elsewhere', async () => {
    const db = await fresh('postgres')
    const rows = 300
    await createItems(db.knex, rows)
    const flag = (dir: string) => path.join(dir, 'slow.flag')
    // 100 ms per batch while the flag exists: slow enough to scrape during the run.
    const project = await makeProject(db, (dir) => upMigration({ batchSize: 10, slowWhile: [flag(dir), 100] }))
    await writeFile(flag(project.dir), '')
    // The app reports a high latency first: workers hold back, which the metrics count.
    let slowApp = true
    const reporter = (async () => {
      while (slowApp) {
        await reportAppLatency(db.knex, 1000)
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    })()
    try {
      const port = await freePort()
      const run = spawnCli(['run', ...project.flags, '--batch-size', '10', '--metrics-port', String(port), '--max-app-latency-ms', '100'])
      const labels = { migration: project.name }

      const throttled = await waitUntil('a scrape showing time held back', async () => {
        const r = await scrape(port)
        return r && (sample(r.body, 'evolve_throttle_seconds_total', { ...labels, source: 'app_latency' }) ?? 0) > 0 ? r : undefined
      })
      assert.equal(throttled.status, 200)
      assert.match(throttled.type ?? '', /^text\/plain/)
      assert.equal(sample(throttled.body, 'evolve_rows_total', labels) ?? 0, 0, 'no rows while the app is slow')

      slowApp = false
      await reporter
      await reportAppLatency(db.knex, 1)
      const scraped = await waitUntil('a scrape with evolved rows', async () => {
        const r = await scrape(port)
        return r && (sample(r.body, 'evolve_rows_total', labels) ?? 0) > 0 ? r : undefined
      })
      assert.equal(scraped.status, 200)
      assert.match(scraped.body, /^# TYPE evolve_rows_total counter$/m)
      assert.match(scraped.body, /^# TYPE evolve_batch_duration_seconds histogram$/m)
      const batchesDone = sample(scraped.body, 'evolve_batches_total', { ...labels, phase: 'scan' })
      assert.ok(batchesDone !== undefined && batchesDone > 0, 'evolve_batches_total counts the batches')
      const infBucket = sample(scraped.body, 'evolve_batch_duration_seconds_bucket', { ...labels, le: '+Inf' })
      assert.equal(infBucket, batchesDone, 'every batch is observed in the duration histogram')
      assert.equal(
        sample(scraped.body, 'evolve_batch_duration_seconds_bucket', { ...labels, le: '0.05' }),
        0,
        'batches take 100 ms or more',
      )

      const elsewhere = await scrape(port, '/')
      assert.equal(elsewhere?.status, 404)
      assert.equal((await scrape(port, '/metricsx'))?.status, 404)

      await rm(flag(project.dir))
      const result = await run.exited
      assert.equal(result.code, 0, result.stderr)
      assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
    } finally {
      slowApp = false
      await reporter
      await project.cleanup()
      await db.drop()
    }
  })
})

describe('a finished run with --log-format json', () => {
  const rows = 120
  let db: FreshDatabase
  let project: Project
  let result: CliResult

  before(async () => {
    db = await fresh('sqlite')
    await createItems(db.knex, rows)
    project = await makeProject(db, setMigration(50))
    result = await runCli(['run', ...project.flags, '--log-format', 'json'])
  })
  after(async () => {
    await project?.cleanup()
    await db?.drop()
  })

  it('printed one JSON entry per stdout line: run:start, every batch, run:end, then a summary; and each change of state', async () => {
    assert.equal(result.code, 0, result.stderr)
    const lines = result.stdout.trimEnd().split('\n')
    type Entry = {
      event?: string
      run?: string
      state?: string
      msg?: string
      ok?: boolean
      from?: string
      to?: string
      batchId?: number
      worker?: string
    }
    const all = lines.map((line) => JSON.parse(line) as Entry)
    const states = all.filter((e) => e.event === 'run:state').map((e) => `${e.from} -> ${e.to}`)
    assert.deepEqual(states, ['pending -> running', 'running -> done'])
    const entries = all.filter((e) => e.event !== 'run:state')
    const events = entries.map((e) => e.event)
    assert.equal(events[0], 'run:start')
    assert.equal(entries[0]!.state, 'running', 'run:start reports the state the run starts in')
    const batchesDone = await db.knex('evolve_batches').where({ run_name: project.name, state: 'done' }).count({ n: '*' }).first()
    assert.equal(events.filter((e) => e === 'batch:done').length, Number(batchesDone?.n), 'one entry per batch')
    // Each names the worker that did it, as the batch row does.
    const owners = new Map(
      (await db.knex('evolve_batches').where({ run_name: project.name }).select('id', 'owner')).map((b) => [Number(b.id), b.owner]),
    )
    for (const e of entries.filter((x) => x.event === 'batch:done')) assert.equal(e.worker, owners.get(e.batchId!), JSON.stringify(e))
    assert.equal(events.at(-2), 'run:end')
    const end = entries.at(-2)!
    assert.equal(end.run, project.name)
    assert.equal(end.state, 'done')
    assert.equal(typeof end.msg, 'string')
    assert.equal(events.at(-1), 'summary')
    assert.equal(entries.at(-1)!.ok, true)
  })

  it('shows in status --json a numeric rowsPerSecond, no workers and the batch size', async () => {
    const status = await statusJson(project.name, project.dbFlags, { cwd: project.dir })
    assert.equal(status.state, 'done')
    assert.equal(status.done, rows)
    assert.equal(status.remaining, 0)
    assert.equal(typeof status.rowsPerSecond, 'number')
    assert.ok(status.rowsPerSecond! > 0, `rowsPerSecond ${status.rowsPerSecond}`)
    assert.equal(status.workers, 0)
    assert.equal(typeof status.batchSize, 'number')
    assert.ok(status.batchSize! >= 10, `batchSize ${status.batchSize}`)
    assert.equal(status.throttled, null)
    assert.equal(status.etaSeconds, null)
  })
})

describe('status of a run made on a host whose clock runs a minute behind', () => {
  it('shows start and end times by the database clock, as the batches have them', async () => {
    const db = await fresh('sqlite')
    await createItems(db.knex, 100)
    const project = await makeProject(db, setMigration(10))
    try {
      // Between these two readings of the true clock, however long the run takes on a busy
      // machine; a time from the skewed clock would be a minute before `before`.
      const before = Date.now()
      const run = await runCli(['run', ...project.flags], { env: skewedClock(-60_000) })
      assert.equal(run.code, 0, run.stderr)
      const status = await statusJson(project.name, project.dbFlags, { cwd: project.dir })
      const after = Date.now()
      assert.equal(status.state, 'done')
      for (const [field, at] of [
        ['startedAt', status.startedAt],
        ['finishedAt', status.finishedAt],
      ] as const) {
        // SQLite's clock has millisecond resolution, Date.now() too: 1 s covers rounding only.
        const time = Date.parse(at ?? '')
        assert.ok(
          time >= before - 1000 && time <= after + 1000,
          `${field} ${at} is not between ${new Date(before).toISOString()} and ${new Date(after).toISOString()}`,
        )
      }
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })
})
