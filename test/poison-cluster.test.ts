// Clustered poison rows (one tenant's broken data): a transform's throw names its row, so the row
// is recorded as failed and the rest of its batch is written in the same transaction, with no
// splitting; the sweeps leave failed objects to `evolve retry`; a database error, which no row
// can be blamed for in JavaScript, is still isolated by splitting the batch.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseMigration } from '../lib/config/migration-schema.ts'
import { type AnyRow, type MigrationDefinition, type RunProgress, Runner } from '../lib/index.ts'
import { output, runCli, spawnCli } from './helpers/cli.ts'
import { type FreshDatabase, dialects, runnerKnex, withDb } from './helpers/databases.ts'
import {
  batchRows,
  countBatches,
  createUsers,
  failureRows,
  insertChunked,
  migrationSource,
  newEmail,
  oldEmail,
  rowsOf,
  runRow,
  waitUntil,
  writeFiles,
} from './helpers/fixtures.ts'

const COUNT = 2000
const BATCH = 100
// 5 % of the table, one contiguous key range: the rows of one broken tenant.
const isBad = (id: number) => id > 1000 && id <= 1100
const BAD = Array.from({ length: COUNT }, (_, i) => i + 1).filter(isBad)
// A row the transform leaves pending the first time it sees it, so that a sweep runs.
const LATE = 5

interface Ran {
  progress: RunProgress | undefined
  events: { name: string; payload: Record<string, unknown> }[]
}

/** Runs `definition` in this process at a fixed batch size, recording the events the runner emits. */
async function runRecorded(db: FreshDatabase, name: string, definition: MigrationDefinition, listen?: (r: Runner) => void): Promise<Ran> {
  const conn = runnerKnex(db)
  try {
    const runner = new Runner({ knex: conn, batchSize: BATCH, migrations: [parseMigration(name, `test:${name}`, definition)] })
    const events: Ran['events'] = []
    for (const event of ['batch:split', 'object:failed', 'sweep'] as const) {
      runner.events.on(event, (payload) => events.push({ name: event, payload: payload as unknown as Record<string, unknown> }))
    }
    listen?.(runner)
    const [progress] = await runner.run()
    return { progress, events }
  } finally {
    await conn.destroy()
  }
}

/** A lower-casing transform that throws for the bad rows and counts its calls per row. */
function throwingTransform(calls: Map<number, number>, lateOnce = false) {
  return (row: AnyRow) => {
    const id = row.id as number
    const seen = (calls.get(id) ?? 0) + 1
    calls.set(id, seen)
    if (row.bad) throw new Error(`tenant data broken in user ${id}`)
    if (lateOnce && id === LATE && seen === 1) return null
    return { email: String(row.email).toLowerCase() }
  }
}

const named = (events: Ran['events'], name: string) => events.filter((e) => e.name === name)

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('a transform throwing for a contiguous 5 % of the rows records exactly those, evolves the rest, splits no batch, and the sweep leaves them alone', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: COUNT, pending: () => true, bad: isBad })
        const calls = new Map<number, number>()
        const { progress, events } = await runRecorded(db, '001_cluster', {
          table: 'users',
          pending: (q) => q.whereRaw('email <> lower(email)'),
          transform: throwingTransform(calls, true),
          maxFailures: 1000,
        })

        assert.equal(progress?.state, 'failed', progress?.lastError ?? '')
        assert.equal(
          progress?.lastError,
          `${BAD.length} objects failed: see \`evolve failures 001_cluster\`, fix the cause, then \`evolve retry 001_cluster\``,
        )
        const failures = await failureRows(db.knex, '001_cluster')
        assert.deepEqual(
          failures.map((f) => Number(f.key)).sort((a, b) => a - b),
          BAD,
        )
        for (const f of failures) {
          assert.equal(f.error, `tenant data broken in user ${Number(f.key)}`)
          assert.equal(f.attempts, 1, `key ${String(f.key)} was recorded once`)
        }
        assert.deepEqual(
          named(events, 'object:failed')
            .map((e) => Number(e.payload.key))
            .sort((a, b) => a - b),
          BAD,
        )
        for (const row of await rowsOf(db.knex, 'users')) {
          const id = row.id as number
          assert.equal(row.email, isBad(id) ? oldEmail(id) : newEmail(id), `row ${id}`)
        }

        // Constant cost: no split, no failed batch, about one batch transaction per BATCH rows.
        assert.equal(named(events, 'batch:split').length, 0)
        assert.equal(await countBatches(db.knex, '001_cluster', { state: 'split' }), 0)
        assert.equal(await countBatches(db.knex, '001_cluster', { state: 'failed' }), 0)
        assert.equal(await countBatches(db.knex, '001_cluster', { phase: 'scan' }), COUNT / BATCH)

        // One sweep ran, for the row left pending, and took no failed object again.
        assert.deepEqual(
          named(events, 'sweep').map((e) => e.payload.pending),
          [1],
        )
        const sweeps = (await batchRows(db.knex, '001_cluster')).filter((b) => b.phase === 'sweep')
        assert.equal(sweeps.length, 1, JSON.stringify(sweeps))
        for (const id of BAD) assert.equal(calls.get(id), 1, `transform calls for bad row ${id}`)
        assert.equal(calls.get(LATE), 2)
      }))

    it('with a composite key, a sweep also leaves the failed objects of the broken tenant alone', () =>
      withDb(d, async (db) => {
        await db.knex.schema.createTable('orders', (t) => {
          t.integer('shop').notNullable()
          t.integer('id').notNullable()
          t.string('email', 255).notNullable()
          t.primary(['shop', 'id'])
        })
        const rows = [1, 2, 3, 4].flatMap((shop) => Array.from({ length: 50 }, (_, i) => ({ shop, id: i + 1, email: oldEmail(i + 1) })))
        await insertChunked(db.knex, 'orders', rows)
        const calls = new Map<string, number>()
        const { progress, events } = await runRecorded(db, '001_orders', {
          table: 'orders',
          key: ['shop', 'id'],
          pending: (q) => q.whereRaw('email <> lower(email)'),
          transform: (row: AnyRow) => {
            const at = `${String(row.shop)}/${String(row.id)}`
            const seen = (calls.get(at) ?? 0) + 1
            calls.set(at, seen)
            if (row.shop === 3) throw new Error(`shop 3 is broken (${at})`)
            if (at === '1/5' && seen === 1) return null // left pending once: a sweep runs
            return { email: String(row.email).toLowerCase() }
          },
        })
        assert.equal(progress?.state, 'failed', progress?.lastError ?? '')
        assert.match(progress?.lastError ?? '', /^50 objects failed: see `evolve failures 001_orders`/)
        assert.equal((await failureRows(db.knex, '001_orders')).length, 50)
        assert.equal(named(events, 'batch:split').length, 0)
        assert.deepEqual(
          named(events, 'sweep').map((e) => e.payload.pending),
          [1],
        )
        for (let id = 1; id <= 50; id++) assert.equal(calls.get(`3/${id}`), 1, `transform calls for 3/${id}`)
        assert.equal(calls.get('1/5'), 2)
      }))

    it('rows left pending after the sweeps are named apart from the failed objects, which point to evolve failures', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 500, pending: () => true, bad: (id) => id > 300 && id <= 320 })
        const calls = new Map<number, number>()
        // No sweep at all: the row the transform left pending is still pending when the run ends.
        const { progress } = await runRecorded(db, '001_both', {
          table: 'users',
          pending: (q) => q.whereRaw('email <> lower(email)'),
          transform: throwingTransform(calls, true),
          sweeps: 0,
        })
        assert.equal(progress?.state, 'failed')
        assert.equal(
          progress?.lastError,
          '1 row still pending after 0 sweeps: something keeps writing the old shape (old app instances?); once it stops, `evolve run 001_both` sweeps again and finishes; besides, 20 objects failed (not counted above): see `evolve failures 001_both`',
        )
        assert.equal((await failureRows(db.knex, '001_both')).length, 20)
      }))

    it('the failures of a transform throwing for every row stop the run at maxFailures, not a batch later', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 500, pending: () => true, bad: () => true })
        const { progress, events } = await runRecorded(db, '001_broken', {
          table: 'users',
          pending: (q) => q.whereRaw('email <> lower(email)'),
          transform: throwingTransform(new Map()),
          maxFailures: 10,
        })
        assert.equal(progress?.state, 'failed')
        assert.match(progress?.lastError ?? '', /^stopped after 10 failed objects \(maxFailures 10\)/)
        assert.equal((await failureRows(db.knex, '001_broken')).length, 10)
        assert.equal(named(events, 'object:failed').length, 10)
      }))

    it('a database error on the write is still isolated by splitting the batch down to its row', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 400, pending: () => true })
        // `dup` is NOT NULL: the write-back of row 250 fails in the database, for the whole batch.
        const { progress, events } = await runRecorded(db, '001_null', {
          table: 'users',
          pending: (q) => q.whereRaw('email <> lower(email)'),
          transform: (row) => ({ email: String(row.email).toLowerCase(), dup: row.id === 250 ? null : row.dup }),
        })
        assert.equal(progress?.state, 'failed')
        const failures = await failureRows(db.knex, '001_null')
        assert.deepEqual(
          failures.map((f) => Number(f.key)),
          [250],
        )
        assert.match(failures[0]!.error, /null/i)
        assert.ok(named(events, 'batch:split').length > 0, 'the failing batch was split')
        assert.ok((await countBatches(db.knex, '001_null', { state: 'split' })) > 0)
        for (const row of await rowsOf(db.knex, 'users')) {
          const id = row.id as number
          assert.equal(row.email, id === 250 ? oldEmail(id) : newEmail(id), `row ${id}`)
        }
      }))

    it('a run of failing up batches lets timers (heartbeats, log writes) in between its splits', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: COUNT, pending: () => true, bad: isBad })
        // A timer due at once, set at the first split: it runs when the runner next lets the event
        // loop go round, which a synchronous driver never did between failing batches.
        let splitsSoFar = 0
        let splitsWhenTimerRan = -1
        const { events } = await runRecorded(
          db,
          '001_up',
          {
            table: 'users',
            up: (rows) => {
              if (rows.some((r) => r.bad)) throw new Error('a bad row in this batch')
            },
            maxFailures: 1000,
          },
          (runner) =>
            runner.events.on('batch:split', () => {
              if (++splitsSoFar === 1) setTimeout(() => (splitsWhenTimerRan = splitsSoFar), 0)
            }),
        )
        const splits = named(events, 'batch:split').length
        assert.ok(splits > 10, `${splits} splits`)
        assert.ok(splitsWhenTimerRan >= 1 && splitsWhenTimerRan < splits, `the timer ran after split ${splitsWhenTimerRan} of ${splits}`)
        assert.equal((await failureRows(db.knex, '001_up')).length, BAD.length)
      }))

    it('retry on a run that live workers still serve says so in one line and changes nothing', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 300, pending: () => true, bad: (id) => id === 7 })
        const cwd = await writeFiles({
          // Holds every batch after the first few while a file named "hold" lies next to it.
          'evolve.config.ts': `import fs from 'node:fs'
import { defineConfig } from 'evolvekit'
let calls = 0
export default defineConfig({
  throttle: async () => ++calls > 2 && fs.existsSync(new URL('./hold', import.meta.url)) && { reason: 'held by the test', ms: 50 },
})
`,
          'migrations/001_lower.ts': migrationSource(`{
            table: 'users',
            batchSize: 10,
            pending: (q) => q.whereRaw('email <> lower(email)'),
            transform: (row) => {
              if (row.bad) throw new Error('flagged bad')
              return { email: row.email.toLowerCase() }
            },
          }`),
          hold: '',
        })
        const cli = (...args: string[]) => runCli([...args, '--db', db.url], { cwd })
        const running = spawnCli(['run', '--db', db.url], { cwd })
        try {
          await waitUntil('the run to record its failed object', async () => (await failureRows(db.knex, '001_lower')).length === 1)
          const retry = await cli('retry', '001_lower')
          assert.equal(retry.code, 2, output(retry))
          assert.equal(
            retry.stderr.trim(),
            'evolve: migration "001_lower" is still running: retry its failed objects once it has ended (`evolve status` shows when), or add a runner with `evolve run 001_lower`',
          )
          assert.equal(retry.stdout, '')
          assert.equal(await countBatches(db.knex, '001_lower', { phase: 'retry' }), 0, 'nothing was queued')
          assert.deepEqual(
            (await failureRows(db.knex, '001_lower')).map((f) => [Number(f.key), f.attempts]),
            [[7, 1]],
          )
          assert.equal((await runRow(db.knex, '001_lower'))?.state, 'running')
        } finally {
          await running.kill('SIGKILL')
        }
      }))
  })
}

describe('postgres', () => {
  it('a lock timeout inside an async transform is the batch’s conflict, retried with backoff, not a failed row', () =>
    withDb('postgres', async (db) => {
      await createUsers(db, { count: 20, pending: () => true })
      await db.knex.schema.createTable('side', (t) => t.integer('id').primary())
      await db.knex('side').insert({ id: 1 })
      // Another connection holds the row the transform locks for user 3, until the batch has backed off once.
      const holder = await db.knex.transaction()
      await holder('side').where({ id: 1 }).forUpdate()
      const lookup = runnerKnex(db)
      try {
        const definition: MigrationDefinition = {
          table: 'users',
          transform: async (row: AnyRow) => {
            if (row.id === 3)
              await lookup.transaction(async (trx) => {
                await trx.raw('SET LOCAL lock_timeout = 100')
                await trx('side').where({ id: 1 }).forUpdate()
              })
            return { email: String(row.email).toLowerCase() }
          },
        }
        const ran = await runRecorded(db, '001_lower', definition, (runner) =>
          runner.events.once('batch:retry', () => void holder.commit()),
        )
        assert.equal(ran.progress?.state, 'done', JSON.stringify(ran.progress))
        assert.equal(named(ran.events, 'object:failed').length, 0)
        assert.deepEqual(await failureRows(db.knex, '001_lower'), [])
      } finally {
        if (!holder.isCompleted()) await holder.rollback()
        await lookup.destroy()
      }
    }))
})
