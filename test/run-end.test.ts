// run:end: once for every way a run ends in this process's view (done, failed, cancelled, here or
// by another process), never for a pause or a run handle's stop(), and only once a change made
// inside a transaction committed.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Knex } from 'knex'
import { describe, it } from 'node:test'
import { cancelRun, createMigration, defineMigration, openEvolve } from '../lib/index.ts'
import type { AnyRow, EvolveEvents, Evolve } from '../lib/index.ts'
import { changeRunState } from '../lib/core/run-state.ts'
import { EvolveEmitter } from '../lib/core/events.ts'
import { storeFor } from '../lib/store/store.ts'
import { dialects, runnerKnex, withDb } from './helpers/databases.ts'
import { createShop, insertChunked, snapshotMigration, waitUntil, workspace } from './helpers/fixtures.ts'

type RunEnd = EvolveEvents['run:end'][0]

const ROWS = 200
const NAME = '001_bump'

/** `nums(id, v)`, every row at v = 0. */
async function createNums(knex: Knex): Promise<void> {
  await knex.schema.createTable('nums', (t) => {
    t.increments('id')
    t.integer('v').notNullable()
  })
  await insertChunked(
    knex,
    'nums',
    Array.from({ length: ROWS }, () => ({ v: 0 })),
    100,
  )
}

/** Sets v = 1, 10 rows a batch; `failOn` throws for that id (one failed object, the run ends failed). */
const bump = (failOn?: number) =>
  createMigration(
    NAME,
    defineMigration({
      table: 'nums',
      batchSize: 10,
      pending: (q) => q.where('v', 0),
      transform: (row: AnyRow) => {
        if (row.id === failOn) throw new Error(`row ${failOn} is broken`)
        return { v: 1 }
      },
    }),
  )

/** Starts the run held back by its throttle hook: it stays running, no batch done, while the test acts. */
async function runHeld(evolve: Evolve) {
  const held = new Promise((resolve) => evolve.events.once('throttled', resolve))
  const handle = await evolve.run([], { throttle: () => ({ reason: 'held by the test', ms: 20 }) })
  await held
  return handle
}

/** Opens the admin object on a connection of its own, collects its run:end events, closes both after `fn`. */
async function withEvolve(conn: Knex, failOn: number | undefined, fn: (evolve: Evolve, ends: RunEnd[]) => Promise<void>) {
  const evolve = await openEvolve({ knex: conn, migrations: [bump(failOn)], by: 'test@host' })
  const ends: RunEnd[] = []
  evolve.events.on('run:end', (e) => ends.push(e))
  try {
    await fn(evolve, ends)
  } finally {
    await evolve.close()
    await conn.destroy()
  }
}

for (const d of dialects) {
  describe(`run:end on ${d}`, { concurrency: 2 }, () => {
    it('is emitted once, done, with every row counted, when the run finishes', () =>
      withDb(d, async (db) => {
        await createNums(db.knex)
        await withEvolve(runnerKnex(db), undefined, async (evolve, ends) => {
          const [result] = await (await evolve.run()).done
          assert.equal(result?.state, 'done')
          assert.deepEqual(ends, [{ run: NAME, state: 'done', done: ROWS, failed: 0, error: null }])
        })
      }))

    it('is emitted once, failed, with the failed object counted and the reason, when objects failed', () =>
      withDb(d, async (db) => {
        await createNums(db.knex)
        await withEvolve(runnerKnex(db), 7, async (evolve, ends) => {
          const [result] = await (await evolve.run()).done
          assert.equal(result?.state, 'failed')
          assert.equal(ends.length, 1, JSON.stringify(ends))
          assert.equal(ends[0]!.state, 'failed')
          assert.equal(ends[0]!.failed, 1)
          assert.equal(ends[0]!.done, ROWS - 1)
          assert.match(ends[0]!.error ?? '', /1 object failed/)
        })
      }))

    it('is emitted once, cancelled, when the admin object cancels the run it serves', () =>
      withDb(d, async (db) => {
        await createNums(db.knex)
        await withEvolve(runnerKnex(db), undefined, async (evolve, ends) => {
          const handle = await runHeld(evolve)
          assert.equal(await evolve.cancel(NAME, { reason: 'wrong day' }), 'cancelled')
          const [result] = await handle.done
          assert.equal(result?.state, 'cancelled')
          assert.deepEqual(ends, [{ run: NAME, state: 'cancelled', done: 0, failed: 0, error: null }])
        })
      }))

    it('is emitted once, cancelled, by the process serving a run another process cancelled', () =>
      withDb(d, async (db) => {
        await createNums(db.knex)
        await withEvolve(runnerKnex(db), undefined, async (evolve, ends) => {
          const handle = await runHeld(evolve)
          // Another connection and another emitter: what `evolve cancel` in another process does.
          assert.equal(await cancelRun(db.knex, NAME, 'someone else'), 'cancelled')
          const [result] = await handle.done
          assert.equal(result?.state, 'cancelled')
          assert.deepEqual(ends, [{ run: NAME, state: 'cancelled', done: 0, failed: 0, error: null }])
        })
      }))

    it('is emitted once, cancelled, when the process serving the run also watches it (as the UI does) and another process cancels it', () =>
      withDb(d, async (db) => {
        await createNums(db.knex)
        await withEvolve(runnerKnex(db), undefined, async (evolve, ends) => {
          const handle = await runHeld(evolve)
          const stopWatching = evolve.watch({ intervalMs: 20 })
          try {
            // The watch has seen the run running before the cancel: its run:state will tell of the change.
            await new Promise((resolve) => evolve.events.once('progress', resolve))
            assert.equal(await cancelRun(db.knex, NAME, 'someone else'), 'cancelled')
            const [result] = await handle.done
            assert.equal(result?.state, 'cancelled')
            assert.deepEqual(ends, [{ run: NAME, state: 'cancelled', done: 0, failed: 0, error: null }])
          } finally {
            await stopWatching()
          }
        })
      }))

    it('is not emitted for a pause, nor for a run handle’s stop(), which leave the run to be served again', () =>
      withDb(d, async (db) => {
        await createNums(db.knex)
        await withEvolve(runnerKnex(db), undefined, async (evolve, ends) => {
          const handle = await runHeld(evolve)
          assert.equal(await evolve.pause(NAME), 'paused')
          handle.stop()
          const [result] = await handle.done
          assert.equal(result?.state, 'paused')
          assert.equal(ends.length, 0, JSON.stringify(ends))
          // Resumed and served again, it ends once.
          assert.equal(await evolve.resume(NAME), 'running')
          const [again] = await (await evolve.run()).done
          assert.equal(again?.state, 'done')
          assert.deepEqual(
            ends.map((e) => [e.state, e.done]),
            [['done', ROWS]],
          )
        })
      }))

    it('for a snapshot run cancelled by the process that runs it, comes once, from its unwind, saying what it undid', () =>
      withDb(d, async (db) => {
        await createShop(db, 300)
        const ws = await workspace()
        const name = await ws.migration('001_snapshot', snapshotMigration())
        // Held before its swap (lib/core/snapshot/hold.ts) until the cancel has landed.
        const holdFile = path.join(path.dirname(ws.dir), 'hold')
        await writeFile(holdFile, 'swap')
        process.env.EVOLVE_SNAPSHOT_HOLD_FILE = holdFile
        const evolve = await openEvolve({ db: db.url, dir: ws.dir, by: 'test@host' })
        try {
          const ends: RunEnd[] = []
          evolve.events.on('run:end', (e) => ends.push(e))
          const atSwap = new Promise<void>((resolve) => evolve.events.on('snapshot:step', (e) => e.step === 'swap' && resolve()))
          const handle = await evolve.run()
          await atSwap
          assert.equal(await evolve.cancel(name), 'cancelled')
          await writeFile(holdFile, '')
          const [result] = await handle.done
          assert.equal(result?.state, 'cancelled')
          const own = ends.filter((e) => e.run === name)
          assert.equal(own.length, 1, JSON.stringify(ends))
          assert.equal(own[0]!.state, 'cancelled')
          assert.match(own[0]!.error ?? '', /^snapshot stopped at swap, before the swap/)
        } finally {
          delete process.env.EVOLVE_SNAPSHOT_HOLD_FILE
          await evolve.close()
          await ws.cleanup()
        }
      }))

    it('for a change inside a transaction, comes once it committed, with the totals the pool reads, and never after a rollback', () =>
      withDb(d, async (db) => {
        await createNums(db.knex)
        await withEvolve(runnerKnex(db), undefined, async (evolve) => {
          const [result] = await (await evolve.run()).done
          assert.equal(result?.state, 'done')
        })
        const store = storeFor(db.knex)
        // Back to running by hand, so the state machine may end it again.
        await db.knex('evolve_runs').where({ name: NAME }).update({ state: 'running' })
        const events = new EvolveEmitter()
        const ends: RunEnd[] = []
        events.on('run:end', (e) => ends.push(e))
        const endInTransaction = (commit: boolean) =>
          db.knex
            .transaction(async (trx) => {
              const run = (await store.runs.get(trx, NAME))!
              const change = { to: 'failed' as const, by: 'test', reason: 'ended in a transaction', pool: db.knex }
              assert.ok(await changeRunState(store, events, trx, run, change))
              assert.deepEqual(ends, [], 'not before the commit')
              if (!commit) throw new Error('rolled back')
            })
            .catch((err: Error) => assert.equal(err.message, 'rolled back'))
        await endInTransaction(false)
        assert.equal((await store.runs.get(db.knex, NAME))?.state, 'running')
        await endInTransaction(true)
        await waitUntil('run:end after the commit', async () => (ends.length > 0 ? true : undefined))
        assert.deepEqual(ends, [{ run: NAME, state: 'failed', done: ROWS, failed: 0, error: 'ended in a transaction' }])
        await assert.rejects(
          db.knex.transaction(async (trx) => {
            const run = (await store.runs.get(trx, NAME))!
            await changeRunState(store, events, trx, { ...run, state: 'running' }, { to: 'done', by: 'test' })
          }),
          /needs the pool/,
        )
      }))
  })
}
