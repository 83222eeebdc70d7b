// A live app contending with `evolve run`: row locks and a real deadlock on PostgreSQL, the
// write lock on SQLite. Conflicts are retried, the app's writes are never overwritten with
// stale values, and an error that is not a conflict is not retried.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import Database from 'better-sqlite3'
import type { Knex } from 'knex'
import pg from 'pg'
import { type CliResult, exitOf, failuresJson, runCli, spawnCli, type StatusEntry, statusJson } from './helpers/cli.ts'
import { dialects, fresh, freshPostgres, type FreshPostgres, freshSqlite, type FreshSqlite } from './helpers/databases.ts'
import {
  batchRows,
  counterHistogram,
  createItems,
  insertChunked,
  runRow,
  waitUntil,
  type Workspace,
  workspace,
} from './helpers/fixtures.ts'

const USERS = 2000
const BATCH = 50
/** The rows the app locks and edits: ahead of the run when the app takes its locks. */
const APP_FROM = 1001
const APP_TO = 1020
const LOCK_TIMEOUT_MS = 200

const appEmail = (id: number) => `App.Changed.${id}@Example.ORG`
const runArgs = (url: string, dir: string) => ['run', '--db', url, '--dir', dir, '--batch-size', String(BATCH)]
/** With --log-format json a run prints this for every conflict it backs off from. */
const RETRY_EVENT = '"event":"batch:retry"'

/** Transform mode, lower-casing e-mails; `pending` makes the batch re-check each row under lock. */
function lowercaseMigration(sleepPerBatchMs = 0, maxAttempts = 10): string {
  return `import { defineMigration } from 'evolvekit'
export default defineMigration({
  description: 'lower-case every e-mail address',
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)'),
  async transform(row) {
    // every row's promise sleeps at once: about ${sleepPerBatchMs} ms per batch, so the app can step in
    if (${sleepPerBatchMs} > 0) await new Promise((r) => setTimeout(r, ${sleepPerBatchMs}))
    return { email: (row.email as string).toLowerCase() }
  },
  batchSize: ${BATCH},
  lockTimeoutMs: ${LOCK_TIMEOUT_MS},
  maxAttempts: ${maxAttempts},
})
`
}

async function seedUsers(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id')
    t.string('email').notNullable()
    t.string('name').notNullable()
  })
  await insertChunked(
    knex,
    'users',
    Array.from({ length: USERS }, (_, i) => ({ email: `User.${i + 1}@Example.COM`, name: `user ${i + 1}` })),
  )
}

/**
 * Every row lower-cased from its current value: the app's rows from the app's new e-mail
 * (a stale write would have put back the lower-cased old one) with the app's name intact.
 */
async function assertUsersEvolvedWithAppEdits(knex: Knex): Promise<void> {
  const rows: { id: number; email: string; name: string }[] = await knex('users').select('id', 'email', 'name').orderBy('id')
  assert.equal(rows.length, USERS)
  const wrong = rows.filter((r) => {
    const edited = r.id >= APP_FROM && r.id <= APP_TO
    const email = edited ? appEmail(r.id).toLowerCase() : `user.${r.id}@example.com`
    const name = edited ? 'edited by app' : `user ${r.id}`
    return r.email !== email || r.name !== name
  })
  assert.deepEqual(wrong, [], 'every e-mail lower-cased from its latest value, the app’s edits kept')
}

const APP_EDIT_SQL = `UPDATE users SET email = 'App.Changed.' || id || '@Example.ORG', name = 'edited by app' WHERE id BETWEEN ${APP_FROM} AND ${APP_TO}`

/** Backends of this database waiting on a lock held by `pid`. */
async function blockedBy(knex: Knex, pid: number): Promise<number> {
  const { rows } = await knex.raw('SELECT count(*)::int AS n FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))', [pid])
  return Number(rows[0].n)
}

async function appClient(url: string): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  return { client, pid: rows[0]!.pid }
}

const sumRetries = (batches: { retries: number }[]) => batches.reduce((sum, b) => sum + b.retries, 0)

describe('conflicts with a live app on postgres', () => {
  it('a run stopped while a batch backs off from the app’s locks leaves at once and gives the batch back', async () => {
    const db = await freshPostgres()
    const ws = await workspace()
    const app = await appClient(db.url)
    try {
      await seedUsers(db.knex)
      // So many attempts that, without the stop reaching the backoff, the run would keep at it for minutes.
      const name = await ws.migration('001_lowercase-emails', lowercaseMigration(0, 1000))
      await app.client.query('BEGIN')
      await app.client.query(`SELECT id FROM users WHERE id BETWEEN ${APP_FROM} AND ${APP_TO} FOR UPDATE`)

      const cli = spawnCli([...runArgs(db.url, ws.dir), '--log-format', 'json'])
      await waitUntil('the run to wait on the app’s row locks', async () => (await blockedBy(db.knex, app.pid)) > 0)
      // Stopped once the batch met a lock timeout and backs off (the retry is logged just before).
      await cli.waitFor(RETRY_EVENT)
      cli.child.kill('SIGTERM')
      // Leaving "at once" is within the hang guard: the back-off alone would go on for minutes.
      const stopped = await exitOf(cli)
      assert.equal(stopped.code, 1, `${stopped.stdout}\n${stopped.stderr}`)
      const open = (await batchRows(db.knex, name)).filter((b) => b.state !== 'done')
      assert.ok(
        open.every((b) => b.state === 'pending' && b.owner === null),
        `the contended batch was given back: ${JSON.stringify(open)}`,
      )
      assert.equal((await db.knex('evolve_failures').count({ n: '*' }).first())?.n, '0', 'stopping is not a failure of the batch')

      await app.client.query('COMMIT')
      const resumed = await runCli(runArgs(db.url, ws.dir))
      assert.equal(resumed.code, 0, resumed.stderr)
      assert.equal((await runRow(db.knex, name))?.state, 'done')
    } finally {
      await app.client.end().catch(() => {})
      await db.drop()
      await ws.cleanup()
    }
  })

  it('retries lock timeouts while the app holds row locks, then evolves the app’s new values', async () => {
    const db = await freshPostgres()
    const ws = await workspace()
    const app = await appClient(db.url)
    try {
      await seedUsers(db.knex)
      const name = await ws.migration('001_lowercase-emails', lowercaseMigration())

      // The app locks rows in the middle of the table before the run gets there.
      await app.client.query('BEGIN')
      const locked = await app.client.query(`SELECT id FROM users WHERE id BETWEEN ${APP_FROM} AND ${APP_TO} FOR UPDATE`)
      assert.equal(locked.rowCount, APP_TO - APP_FROM + 1)

      const cli = spawnCli([...runArgs(db.url, ws.dir), '--log-format', 'json'])
      await waitUntil('the run to wait on the app’s row locks', async () => (await blockedBy(db.knex, app.pid)) > 0)
      // Hold on until the run met lock_timeout and backed off at least once, then write and commit.
      await cli.waitFor(RETRY_EVENT)
      await app.client.query(APP_EDIT_SQL)
      await app.client.query('COMMIT')

      const result = await exitOf(cli)
      assert.equal(result.code, 0, `evolve run finished:\n${result.stdout}\n${result.stderr}`)
      await assertUsersEvolvedWithAppEdits(db.knex)
      assert.equal((await runRow(db.knex, name))?.state, 'done')

      const batches = await batchRows(db.knex, name)
      const contended = batches.find((b) => b.state === 'done' && Number(b.lo) < APP_FROM && APP_FROM <= Number(b.hi))
      assert.ok(contended, `a done batch covers key ${APP_FROM}: ${JSON.stringify(batches)}`)
      assert.ok(contended.retries > 0, `the batch that met the app’s locks was retried: ${JSON.stringify(contended)}`)
      const entry = await statusJson(name, ['--db', db.url, '--dir', ws.dir])
      assert.equal(entry?.state, 'done')
      assert.equal(entry?.done, USERS)
      assert.equal(entry?.retries, sumRetries(batches))
      assert.ok(entry.retries > 0)
    } finally {
      await app.client.end().catch(() => {})
      await db.drop()
      await ws.cleanup()
    }
  })

  /**
   * A `set` migration of users (written as `001_lowercase-set`), and the app holding SHARE on the table,
   * what a plain CREATE INDEX holds: no UPDATE may start until it commits. `fn` commits it (or not).
   */
  async function withTableLockedByApp(fn: (db: FreshPostgres, ws: Workspace, app: { client: pg.Client; pid: number }) => Promise<void>) {
    const db = await freshPostgres()
    const ws = await workspace()
    const app = await appClient(db.url)
    try {
      await seedUsers(db.knex)
      await ws.migration(
        '001_lowercase-set',
        `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)'),
  set: { email: (knex) => knex.raw('lower(email)') },
  lockTimeoutMs: ${LOCK_TIMEOUT_MS},
})
`,
      )
      await app.client.query('BEGIN')
      await app.client.query('LOCK TABLE users IN SHARE MODE')
      await fn(db, ws, app)
    } finally {
      await app.client.end().catch(() => {})
      await db.drop()
      await ws.cleanup()
    }
  }

  it('a run starting while the app holds a table lock (a CREATE INDEX) retries the check of its set expressions through the lock timeouts, then runs', () =>
    withTableLockedByApp(async (db, ws, app) => {
      const cli = spawnCli(['run', '--db', db.url, '--dir', ws.dir])
      // Two statements seen waiting on the lock, one after the other: the first timed out and was tried again.
      const waits = new Set<string>()
      await waitUntil('the check to wait on the lock a second time', async () => {
        if (cli.child.exitCode !== null) throw new Error(`evolve run gave up:\n${(await exitOf(cli)).stderr}`)
        const { rows } = await db.knex.raw(
          'SELECT query_start::text AS started FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))',
          [app.pid],
        )
        for (const r of rows as { started: string }[]) waits.add(r.started)
        return waits.size >= 2
      })
      await app.client.query('COMMIT')
      const result = await exitOf(cli)
      assert.equal(result.code, 0, result.stderr)
      assert.equal((await runRow(db.knex, '001_lowercase-set'))?.state, 'done')
      const left = await db.knex('users').whereRaw('email <> lower(email)').count({ n: '*' }).first()
      assert.equal(Number(left?.n), 0)
    }))

  it('a table the app keeps locked through the check of the set expressions is one line, exit 75 (try again later), after a bounded wait, and nothing is written', () =>
    withTableLockedByApp(async (db, ws, app) => {
      const result = await runCli(['plan', '--db', db.url, '--dir', ws.dir])
      assert.equal(result.code, 75, `${result.stdout}\n${result.stderr}`)
      assert.match(
        result.stderr,
        /^evolve: .*001_lowercase-set\.ts: could not check field "set\.email": users stayed locked for \d+ s \(an app's CREATE INDEX, ALTER TABLE or long transaction\?\); try again once it is free \(.*lock timeout.*\)\n$/,
      )
      await app.client.query('COMMIT')
      assert.equal(await db.knex.schema.hasTable('evolve_runs'), false, 'plan wrote nothing')
    }))

  it('survives a real deadlock with the app: the run’s victim batch is retried, both effects land once', async () => {
    const db = await freshPostgres()
    const ws = await workspace()
    const app = await appClient(db.url)
    try {
      await createItems(db.knex, 200)
      await db.knex.schema.createTable('hot', (t) => {
        t.string('k').primary()
        t.integer('v').notNullable()
      })
      await db.knex('hot').insert([
        { k: 'a', v: 0 },
        { k: 'b', v: 0 },
      ])
      // The batch holding item 1 updates hot row a, then b. lockTimeoutMs is far above
      // PostgreSQL's deadlock_timeout (1 s), so the deadlock detector ends the wait, not lock_timeout.
      const name = await ws.migration(
        '001_count-and-touch',
        `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  batchSize: ${BATCH},
  lockTimeoutMs: 20000,
  async up(rows, ctx) {
    const ids = rows.map((r) => r.id as number)
    await ctx.trx('items').whereIn('id', ids).increment('counter', 1)
    if (ids.includes(1)) {
      await ctx.trx('hot').where({ k: 'a' }).increment('v', 1)
      await ctx.trx('hot').where({ k: 'b' }).increment('v', 1)
    }
  },
})
`,
      )
      const deadlocksBefore = await deadlockCount(db.knex)
      // Where permitted (superuser), make sure the app's backend never runs the deadlock check
      // first: the run, which waits first, then is always the one the detector cancels.
      await app.client.query(`SET deadlock_timeout = '30s'`).catch(() => {})

      // The app takes b; the run takes a and waits for b; the app asks for a: a cycle.
      const appTransaction = async () => {
        await app.client.query('BEGIN')
        await app.client.query(`UPDATE hot SET v = v + 10 WHERE k = 'b'`)
      }
      await appTransaction()
      const cli = spawnCli(runArgs(db.url, ws.dir))
      await waitUntil('the run to wait for hot row b', async () => (await blockedBy(db.knex, app.pid)) > 0)
      let appWasVictim = false
      try {
        await app.client.query(`UPDATE hot SET v = v + 100 WHERE k = 'a'`)
        await app.client.query('COMMIT')
      } catch (error) {
        assert.equal((error as { code?: string }).code, '40P01', `the app only meets a deadlock: ${String(error)}`)
        appWasVictim = true
        await app.client.query('ROLLBACK')
        await appTransaction() // the app retries its transaction, as an app would
        await app.client.query(`UPDATE hot SET v = v + 100 WHERE k = 'a'`)
        await app.client.query('COMMIT')
      }

      const result = await exitOf(cli)
      assert.equal(result.code, 0, `evolve run finished:\n${result.stdout}\n${result.stderr}`)
      assert.equal((await runRow(db.knex, name))?.state, 'done')
      // The run's effect exactly once (its victim attempt rolled back whole), the app's intact.
      const hot = Object.fromEntries((await db.knex('hot').select('k', 'v')).map((r) => [r.k, Number(r.v)]))
      assert.deepEqual(hot, { a: 101, b: 11 })
      assert.deepEqual(await counterHistogram(db.knex), { 1: 200 })
      // PostgreSQL itself counted a deadlock in this database (statistics arrive asynchronously).
      await waitUntil('pg_stat_database to count the deadlock', async () => (await deadlockCount(db.knex)) > deadlocksBefore, {
        everyMs: 100,
      })

      const batches = await batchRows(db.knex, name)
      const first = batches.find((b) => b.lo === null)
      if (!appWasVictim) {
        assert.ok(first && first.retries > 0, `the deadlocked batch was retried: ${JSON.stringify(first)}`)
        const entry = await statusJson(name, ['--db', db.url, '--dir', ws.dir])
        assert.ok(entry && entry.retries > 0, `status counts the retry: ${JSON.stringify(entry)}`)
      }
    } finally {
      await app.client.end().catch(() => {})
      await db.drop()
      await ws.cleanup()
    }
  })
})

async function deadlockCount(knex: Knex): Promise<number> {
  const { rows } = await knex.raw('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')
  return Number(rows[0]?.deadlocks ?? 0)
}

/**
 * BEGIN IMMEDIATE: takes SQLite's write lock. SQLite's own busy handler sleeps ever longer
 * between tries and can starve behind a busy writer for a long time; trying again at once
 * catches the next moment the run lets go of the lock (between two of its transactions).
 */
function takeWriteLock(app: Database.Database, timeoutMs = 20_000): void {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      app.exec('BEGIN IMMEDIATE')
      return
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error
    }
  }
}

describe('conflicts with a live app on sqlite', () => {
  // One run, watched by two tests: what the run does to the data, and what it reports.
  let db: FreshSqlite
  let ws: Workspace
  let name: string
  let result: CliResult
  let entry: StatusEntry | undefined

  before(async () => {
    db = await freshSqlite()
    ws = await workspace()
    await seedUsers(db.knex)
    name = await ws.migration('001_lowercase-emails', lowercaseMigration(5))
    // After two batches the run holds back (outside any batch) while the gate file exists,
    // however fast it is: the app then takes the write lock with its rows still ahead of the run.
    const gate = path.join(path.dirname(ws.dir), 'gate.flag')
    await writeFile(gate, '')
    await writeFile(
      path.join(path.dirname(ws.dir), 'evolve.config.ts'),
      `import fs from 'node:fs'
let calls = 0
export default {
  client: 'better-sqlite3',
  connection: { filename: ${JSON.stringify(db.file)} },
  throttle: () => (++calls > 2 && fs.existsSync(${JSON.stringify(gate)}) ? { reason: 'test gate', ms: 50 } : false),
}
`,
    )

    const cli = spawnCli([...runArgs(db.url, ws.dir), '--log-format', 'json'], { cwd: path.dirname(ws.dir) })
    await waitUntil('the run held at the gate', async () => (await runRow(db.knex, name))?.throttleReason === 'test gate')
    const app = new Database(db.file, { timeout: 0 })
    try {
      takeWriteLock(app)
      const reached = app.prepare('SELECT max(CAST(hi AS INTEGER)) AS hi FROM evolve_batches WHERE run_name = ?').get(name) as {
        hi: number
      }
      assert.ok(reached.hi < APP_FROM, `the app's rows are still ahead of the run (it reached ${reached.hi})`)
      app.exec(APP_EDIT_SQL)
      await rm(gate)
      // Held until the run's writes met SQLITE_BUSY past its busy_timeout (lockTimeoutMs) and it backed off.
      await cli.waitFor(RETRY_EVENT)
      app.exec('COMMIT')
    } finally {
      app.close()
    }
    result = await exitOf(cli)
    entry = await statusJson(name, ['--db', db.url, '--dir', ws.dir])
  })

  after(async () => {
    await db?.drop()
    await ws?.cleanup()
  })

  it('finishes while the app holds the write lock, and keeps the app’s write', async () => {
    assert.equal(result.code, 0, `evolve run finished:\n${result.stdout}\n${result.stderr}`)
    await assertUsersEvolvedWithAppEdits(db.knex)
    assert.equal((await runRow(db.knex, name))?.state, 'done')
    assert.equal(entry?.state, 'done')
    assert.equal(entry?.done, USERS)
  })

  it('reports the SQLITE_BUSY conflicts it retried in status', async () => {
    const batches = await batchRows(db.knex, name)
    assert.equal(entry?.retries, sumRetries(batches))
    assert.ok(entry.retries > 0, `the run logged a retry on SQLITE_BUSY, yet status reports none: ${JSON.stringify(entry)}`)
  })
})

for (const d of dialects) {
  describe(`an error that is not a conflict on ${d}`, () => {
    it('is not retried: the failing row is isolated after one attempt and the rest evolves', async () => {
      const db = await fresh(d)
      const ws = await workspace()
      try {
        await createItems(db.knex, 300)
        // Row 37 divides by zero: an error on PostgreSQL; NULL on SQLite, which the NOT NULL
        // column then rejects. Neither is a conflict. maxAttempts is low so that a wrongly
        // retried batch shows up as attempts > 1 quickly rather than as a slow test.
        const name = await ws.migration(
          '001_poison-row',
          `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  set: { counter: (k) => k.raw('counter + 1 + 0 * (1 / (id - 37))') },
  batchSize: ${BATCH},
  maxAttempts: 5,
})
`,
        )
        const result = await runCli(runArgs(db.url, ws.dir))
        const batches = await batchRows(db.knex, name)
        assert.deepEqual(
          batches.filter((b) => b.state === 'pending' || b.state === 'claimed'),
          [],
          `every batch the run created (the halves of split ones included) was finished:\n${result.stdout}`,
        )
        assert.equal(
          result.code,
          1,
          `the run ends failed:\n${result.stdout}\n${result.stderr}\nbatches: ${JSON.stringify(batches, null, 1)}`,
        )

        const failed = await failuresJson(name, ['--db', db.url, '--dir', ws.dir])
        assert.equal(failed.length, 1, JSON.stringify(failed))
        assert.equal(failed[0]!.key, 37)
        assert.equal(failed[0]!.attempts, 1, `a non-conflict error is tried once, not retried: ${JSON.stringify(failed[0])}`)
        assert.match(failed[0]!.error, d === 'postgres' ? /division by zero/ : /NOT NULL constraint failed/)

        assert.equal(sumRetries(batches), 0, `no batch was retried: ${JSON.stringify(batches)}`)
        assert.deepEqual(await counterHistogram(db.knex), { 0: 1, 1: 299 })
        assert.equal(Number((await db.knex('items').where({ id: 37 }).first()).counter), 0)
        const entry = await statusJson(name, ['--db', db.url, '--dir', ws.dir])
        assert.equal(entry?.state, 'failed')
        assert.equal(entry?.failed, 1)
        assert.equal(entry?.done, 299)
        assert.equal(entry?.retries, 0)
      } finally {
        await db.drop()
        await ws.cleanup()
      }
    })
  })
}
