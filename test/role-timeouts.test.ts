// Timeouts an operator set on the role evolvekit connects as (ALTER ROLE … SET), meant for the app:
// evolvekit's own statements run under its own limits, and what still fails says so.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { exitOf, failuresJson, jsonLines, output, spawnCli, statusJson } from './helpers/cli.ts'
import knexFactory, { type Knex } from 'knex'
import pg from 'pg'
import { dialectOf } from '../lib/dialects/for-knex.ts'
import { openEvolve } from '../lib/index.ts'
import { storeFor } from '../lib/store/store.ts'
import { counterHistogram, waitUntil, withAppRole, writeFiles } from './helpers/fixtures.ts'

const ROWS = 100
const NAME = '001_bump'

/**
 * A `set` migration whose `pending` is counter = 0, with `call` (SQL) evaluated on every row first
 * (the planner would otherwise test the cheaper condition first, and skip it on evolved rows).
 * Few attempts, so a failure ends soon.
 */
function bumpWhere(call: string): string {
  const condition = `CASE WHEN ${call} THEN counter = 0 END`
  return `import { defineMigration } from 'evolvekit'

export default defineMigration({
  table: 'items',
  batchSize: 5,
  maxAttempts: 3,
  pending: (q) => q.whereRaw(${JSON.stringify(condition)}),
  set: { counter: (knex) => knex.raw('counter + 1') },
})
`
}

/** evk_slow(id): 10 ms per row looked at, so a count of the table lasts about a second. */
const createSlowCheck = (knex: Knex) =>
  knex.raw(`CREATE FUNCTION evk_slow(int) RETURNS boolean LANGUAGE sql VOLATILE AS 'SELECT pg_sleep(0.01) IS NOT NULL'`)

/** The tracking tables made by the superuser, and `role` let to use them. */
async function trackingTablesFor(knex: Knex, role: string): Promise<void> {
  await storeFor(knex).ensure(knex)
  await knex.raw(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`)
}

describe('a statement_timeout set on the role', () => {
  it("does not cancel evolvekit's counts: the total and the end-of-pass check count every row, and the run ends done", () =>
    withAppRole(ROWS, async (db, app) => {
      // 10 ms per row looked at: a count of the table lasts a second, a batch of 5 rows 50 ms.
      await createSlowCheck(db.knex)
      await db.knex.raw(`ALTER ROLE ${app.role} SET statement_timeout = '300ms'`)
      const dir = await writeFiles({ [`${NAME}.ts`]: bumpWhere('evk_slow(id)') })
      const run = spawnCli(['run', '--db', app.url, '--dir', dir, '--log-format', 'json'])
      const result = await exitOf(run)
      assert.equal(result.code, 0, output(result))
      const lines = jsonLines(result.stdout)
      const total = lines.find((l) => l.event === 'run:total')
      assert.deepEqual({ total: total?.total, error: total?.error }, { total: ROWS, error: null }, output(result))
      // Nothing outside a batch met the role's timeout (the end-of-pass count was retried 50 times before).
      assert.deepEqual(
        lines.filter((l) => l.event === 'batch:retry'),
        [],
        output(result),
      )
      assert.equal(lines.find((l) => l.event === 'run:end')?.state, 'done', output(result))
      assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
    }))
})

describe('a statement_timeout set on the role, for plan', () => {
  it("does not cancel plan's counts: every row is counted as pending, and the first batch is planned", () =>
    withAppRole(ROWS, async (db, app) => {
      await createSlowCheck(db.knex)
      await db.knex.raw(`ALTER ROLE ${app.role} SET statement_timeout = '300ms'`)
      const dir = await writeFiles({ [`${NAME}.ts`]: bumpWhere('evk_slow(id)') })
      const evolve = await openEvolve({ db: app.url, dir })
      try {
        const [plan] = await evolve.plan()
        assert.deepEqual(
          { rows: plan?.rows, pending: plan?.pending, batches: plan?.batches },
          { rows: ROWS, pending: ROWS, batches: ROWS / 5 },
        )
        assert.ok(plan?.firstBatch, 'the first batch is planned')
      } finally {
        await evolve.close()
      }
    }))
})

describe('a statement_timeout set on the role, with a sweep', () => {
  it("does not cancel a sweep's planning, which reads pending across the table: the row left behind is swept and the run ends done", () =>
    withAppRole(ROWS, async (db, app) => {
      await createSlowCheck(db.knex)
      // Row 50 is left behind by the first pass (as if an old app instance wrote it back), once.
      await db.knex.raw(`CREATE TABLE skip_once (id int); INSERT INTO skip_once VALUES (50); GRANT ALL ON skip_once TO ${app.role}`)
      await db.knex.raw(`ALTER ROLE ${app.role} SET statement_timeout = '300ms'`)
      const condition = `CASE WHEN evk_slow(id) THEN counter = 0 END`
      const dir = await writeFiles({
        [`${NAME}.ts`]: `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  batchSize: 5,
  maxAttempts: 3,
  pending: (q) => q.whereRaw(${JSON.stringify(condition)}),
  async up(rows, ctx) {
    const skipped = await ctx.trx('skip_once').whereIn('id', rows.map((r) => r.id)).del().returning('id')
    const skip = new Set(skipped.map((r) => r.id))
    await ctx.trx('items').whereIn('id', rows.map((r) => r.id).filter((id) => !skip.has(id))).increment('counter', 1)
  },
})
`,
      })
      const result = await exitOf(spawnCli(['run', '--db', app.url, '--dir', dir, '--log-format', 'json']))
      assert.equal(result.code, 0, output(result))
      const lines = jsonLines(result.stdout)
      assert.deepEqual(
        lines.filter((l) => l.event === 'sweep').map((l) => l.pending),
        [1],
        output(result),
      )
      assert.equal(lines.find((l) => l.event === 'run:end')?.state, 'done', output(result))
      assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
    }))
})

describe('an end-of-pass check that keeps failing', () => {
  it('ends the run failed with one line naming the check, the error and the fix, instead of leaving it running with nobody serving it', () =>
    withAppRole(ROWS, async (db, app) => {
      // Batches (statement_timeout 30 s) pass; evolvekit's counts (no statement timeout: 0) meet a
      // lock timeout every time, as behind a DDL that never ends.
      await db.knex.raw(`CREATE FUNCTION evk_locked() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          IF current_setting('statement_timeout') = '0' THEN
            RAISE EXCEPTION 'canceling statement due to lock timeout' USING ERRCODE = '55P03';
          END IF;
          RETURN true;
        END $$`)
      const dir = await writeFiles({ [`${NAME}.ts`]: bumpWhere('evk_locked()') })
      const result = await exitOf(spawnCli(['run', '--db', app.url, '--dir', dir, '--log-format', 'json']))
      assert.equal(result.code, 1, output(result))
      const lines = jsonLines(result.stdout)
      // The failed count is logged as one, not as "no rows pending".
      const total = lines.find((l) => l.event === 'run:total')
      assert.equal(total?.total, null, output(result))
      assert.match(String(total?.msg), /could not count the rows pending/)
      // Retries outside a batch are not worded as a batch's.
      const retries = lines.filter((l) => l.event === 'batch:retry')
      assert.equal(retries.length, 3, output(result))
      for (const r of retries) assert.match(String(r.msg), /^001_bump: a statement between batches retried \(lock_timeout, attempt \d\)$/)
      const expected =
        /^the check for rows still pending at the end of the pass failed \(4 attempts\): .*canceling statement due to lock timeout; something held a lock on the table all along \(a long DDL\?\): let it finish; then `evolve run 001_bump` checks again$/
      const end = lines.find((l) => l.event === 'run:end')
      assert.equal(end?.state, 'failed', output(result))
      assert.match(String(end?.error), expected)
      assert.equal(lines.at(-1)?.event, 'summary', output(result))
      const status = await statusJson(NAME, ['--db', app.url, '--dir', dir])
      assert.equal(status.state, 'failed')
      assert.match(String(status.lastError), expected)
      // Every row was evolved: only the check failed.
      assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
    }))
})

describe('bookkeeping between batches that keeps meeting a conflict', () => {
  it('ends the run failed with the error once the worker gives up, instead of leaving it running with nobody serving it', () =>
    withAppRole(ROWS, async (db, app) => {
      await trackingTablesFor(db.knex, app.role)
      await db.knex.raw(`ALTER ROLE ${app.role} SET lock_timeout = '100ms'`)
      // No batch row can be made while this lasts: every claim meets a lock timeout.
      const locker = await db.knex.transaction()
      try {
        await locker.raw('LOCK TABLE evolve_batches IN SHARE MODE')
        const dir = await writeFiles({ [`${NAME}.ts`]: bumpWhere('true') })
        const result = await exitOf(spawnCli(['run', '--db', app.url, '--dir', dir]))
        assert.equal(result.code, 1, output(result))
        const run = await db.knex('evolve_runs').where({ name: NAME }).first()
        assert.equal(run?.state, 'failed', output(result))
        assert.match(String(run?.last_error), /lock timeout/)
      } finally {
        await locker.rollback()
      }
      assert.deepEqual(await counterHistogram(db.knex), { 0: ROWS }, 'no row was evolved')
    }))

  it('leaves the run to another process still serving it: only the process that gave up leaves', () =>
    withAppRole(ROWS, async (db, app) => {
      await trackingTablesFor(db.knex, app.role)
      await db.knex.raw(`ALTER ROLE ${app.role} SET lock_timeout = '100ms'`)
      const dir = await writeFiles({ [`${NAME}.ts`]: bumpWhere('true') })
      const locker = await db.knex.transaction()
      await locker.raw('LOCK TABLE evolve_batches IN SHARE MODE')
      // The superuser's runner has no lock_timeout: its claim waits for the lock, serving the run.
      const patient = spawnCli(['run', '--db', db.url, '--dir', dir])
      try {
        await waitUntil('the patient runner to wait for the lock', async () => {
          const { rows } = await db.knex.raw(`SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'evolve_batches'::regclass`)
          return rows.length > 0
        })
        const impatient = await exitOf(spawnCli(['run', '--db', app.url, '--dir', dir]))
        assert.equal(impatient.code, 1, output(impatient))
        assert.equal((await db.knex('evolve_runs').where({ name: NAME }).first())?.state, 'running', 'still served')
      } finally {
        await locker.rollback()
      }
      const served = await exitOf(patient)
      assert.equal(served.code, 0, output(served))
      assert.equal((await db.knex('evolve_runs').where({ name: NAME }).first())?.state, 'done')
      assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
    }))
})

describe('an idle_session_timeout set on the role', () => {
  it("does not end the session that holds the workers' presence locks: a live worker does not look dead once the timeout passed", () =>
    withAppRole(ROWS, async (db, app) => {
      await db.knex.raw(`ALTER ROLE ${app.role} SET idle_session_timeout = '300ms'`)
      const knex = knexFactory({ client: 'pg', connection: app.url, pool: { min: 0, max: 2 } })
      const idle = new pg.Client({ connectionString: app.url })
      idle.on('error', () => {}) // ended by the timeout: that is the point
      const dialect = dialectOf(knex)
      const presence = await dialect.openPresence!(knex, () => {})
      try {
        await presence.markAlive('w-idle')
        const holder = async () =>
          (await db.knex.raw(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = hashtext('w-idle')::oid`)).rows
        const [before] = await holder()
        // An ordinary idle session of the role, to see the timeout pass.
        await idle.connect()
        const { rows } = await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
        await waitUntil('the idle session ended by the timeout', async () => {
          const { rows: left } = await db.knex.raw('SELECT 1 FROM pg_stat_activity WHERE pid = ?', [rows[0]!.pid])
          return left.length === 0
        })
        // The same session, never ended and opened again (the lock was free meanwhile: the worker looked dead).
        assert.deepEqual(await holder(), [before], 'the presence session still holds its lock')
      } finally {
        await presence.close()
        await idle.end().catch(() => {})
        await knex.destroy()
      }
    }))
})

describe('an idle_in_transaction_session_timeout set on the role', () => {
  it('does not end a batch whose migration awaits longer than it: the batch sets its own (its statement timeout)', () =>
    withAppRole(ROWS, async (db, app) => {
      await db.knex.raw(`ALTER ROLE ${app.role} SET idle_in_transaction_session_timeout = '300ms'`)
      const dir = await writeFiles({
        [`${NAME}.ts`]: `import { defineMigration } from 'evolvekit'

export default defineMigration({
  table: 'items',
  batchSize: 20,
  up: async (rows, { trx }) => {
    // One row makes its batch's transaction sit idle (holding its row locks) for 800 ms.
    if (rows.some((r) => r.id === 50)) await new Promise((resolve) => setTimeout(resolve, 800))
    await trx('items').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
  },
})
`,
      })
      const result = await exitOf(spawnCli(['run', '--db', app.url, '--dir', dir, '--log-format', 'json']))
      assert.equal(result.code, 0, output(result))
      const lines = jsonLines(result.stdout)
      assert.deepEqual(
        lines.filter((l) => l.event === 'batch:split' || l.event === 'object:failed'),
        [],
      )
      assert.equal(lines.find((l) => l.event === 'run:end')?.state, 'done', output(result))
      assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
    }))
})

describe('a batch whose migration awaits longer than its statementTimeoutMs', () => {
  it("records the row as failed with the server's reason (25P03) and what to change, not a connection error naming no cause", () =>
    withAppRole(ROWS, async (db, app) => {
      const dir = await writeFiles({
        [`${NAME}.ts`]: `import { defineMigration } from 'evolvekit'

export default defineMigration({
  table: 'items',
  batchSize: 20,
  statementTimeoutMs: 300,
  up: async (rows, { trx }) => {
    if (rows.some((r) => r.id === 50)) await new Promise((resolve) => setTimeout(resolve, 800))
    await trx('items').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
  },
})
`,
      })
      const result = await exitOf(spawnCli(['run', '--db', app.url, '--dir', dir]))
      assert.equal(result.code, 1, output(result))
      const failures = await failuresJson(NAME, ['--db', app.url, '--dir', dir])
      assert.deepEqual(
        failures.map((f) => f.key),
        [50],
      )
      assert.match(
        failures[0]!.error,
        /the server ended the connection \(25P03: terminating connection due to idle-in-transaction timeout\): the transaction sat idle .* statementTimeoutMs/,
      )
      assert.deepEqual(await counterHistogram(db.knex), { 0: 1, 1: ROWS - 1 })
    }))
})
