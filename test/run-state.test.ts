// One run state machine: every change of a run's state is a compare-and-set through one table,
// emits `run:state` with who asked, and is stored where `status` shows it.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Knex } from 'knex'
import { describe, it } from 'node:test'
import { EvolveUsageError, RUN_TRANSITIONS, Runner, createMigration, defineMigration, openEvolve, pauseRun } from '../lib/index.ts'
import type { AnyRow, EvolveEvents } from '../lib/index.ts'
import { EvolveEmitter } from '../lib/core/events.ts'
import { changeRunState } from '../lib/core/run-state.ts'
import { storeFor } from '../lib/store/store.ts'
import { output, runCli, spawnCli, statusJson } from './helpers/cli.ts'
import { dialects, runnerKnex, withDb } from './helpers/databases.ts'
import { batchRows, claimOwners, createItems, insertChunked, makeProject, upMigration, waitUntil, writeFiles } from './helpers/fixtures.ts'

type StateEvent = EvolveEvents['run:state'][0]

const ROWS = 20_000

/** Sets v = 1 on `items`, 10 rows a batch to start with; `transform` mode reads the rows instead. */
const slowCounter = (mode: 'set' | 'transform' = 'set') =>
  createMigration(
    '001_count',
    defineMigration({
      table: 'items',
      batchSize: 10,
      pending: (q) => q.where('v', 0),
      ...(mode === 'set' ? { set: { v: () => 1 } } : { transform: (row: AnyRow) => ({ v: Number(row.v) + 1 }) }),
    }),
  )

/** `items(id, v)` with `rows` rows at v = 0: what slowCounter evolves. */
async function createCounters(knex: Knex, rows = ROWS): Promise<void> {
  await knex.schema.createTable('items', (t) => {
    t.increments('id')
    t.integer('v').notNullable()
  })
  await insertChunked(
    knex,
    'items',
    Array.from({ length: rows }, () => ({ v: 0 })),
    500,
  )
}

describe('the transition table', () => {
  for (const d of dialects) {
    it(`on ${d}: forgets, when a run runs again, why it stopped and what it left pending (a retry or resume of a failed run)`, () =>
      withDb(d, async (db) => {
        const store = storeFor(db.knex)
        await store.ensure(db.knex)
        await store.runs.ensure(db.knex, { name: 'r', batchSize: 10, totalEstimate: null })
        await store.runs.update(db.knex, 'r', { state: 'failed', lastError: '2 rows still pending after 3 sweeps: …', pendingAtEnd: 2 })
        const failed = (await store.runs.get(db.knex, 'r'))!
        assert.ok(await changeRunState(store, new EvolveEmitter(), db.knex, failed, { to: 'running', by: 'test', reason: 'retry' }))
        const running = await store.runs.get(db.knex, 'r')
        assert.deepEqual([running?.state, running?.lastError, running?.pendingAtEnd], ['running', null, null])
      }))
  }

  it('makes done final and lets failed and cancelled runs resume', () => {
    assert.deepEqual(RUN_TRANSITIONS.done, [])
    assert.ok(RUN_TRANSITIONS.failed.includes('running'))
    assert.ok(RUN_TRANSITIONS.cancelled.includes('running'))
    assert.ok(!RUN_TRANSITIONS.pending.includes('done'), 'a run is done only after running')
  })
})

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('pause, resume and the end of a run each emit run:state with who asked, and status shows the last one', () =>
      withDb(d, async (db) => {
        await createCounters(db.knex)
        const knex = runnerKnex(db)
        const evolve = await openEvolve({ knex, migrations: [slowCounter()], by: 'test@host' })
        try {
          const changes: StateEvent[] = []
          const ends: EvolveEvents['run:end'][0][] = []
          evolve.events.on('run:state', (e) => changes.push(e))
          evolve.events.on('run:end', (e) => ends.push(e))
          const firstBatch = new Promise((resolve) => evolve.events.once('batch:done', resolve))
          const handle = await evolve.run()
          await firstBatch
          assert.equal(await evolve.pause('001_count', { by: 'alice', reason: 'peak traffic' }), 'paused')
          const paused = await evolve.progress('001_count')
          assert.equal(paused.state, 'paused')
          assert.equal(paused.changedBy, 'alice')
          assert.equal(paused.changeReason, 'peak traffic')

          for (const action of ['pause', 'resume', 'cancel'] as const) {
            await assert.rejects(
              evolve[action]('no-such-run'),
              (err: EvolveUsageError) =>
                err.code === 'E_UNKNOWN_MIGRATION' && err.message === 'no migration named "no-such-run" (found: 001_count)',
            )
          }
          assert.equal(await evolve.resume('001_count', { by: 'bob' }), 'running')
          const [result] = await handle.done
          assert.equal(result?.state, 'done')
          await assert.rejects(
            evolve.resume('001_count'),
            (err: EvolveUsageError) => err.code === 'E_BAD_STATE' && /is done/.test(err.message),
          )

          const seen = changes.map((c) => `${c.from}>${c.to} by ${c.by}`)
          assert.equal(seen[0], 'pending>running by ' + changes[0]!.by)
          assert.match(changes[0]!.by, /^runner /)
          assert.ok(seen.includes('running>paused by alice'), seen.join(', '))
          assert.ok(seen.includes('paused>running by bob'), seen.join(', '))
          assert.match(seen.at(-1)!, /^running>done by runner /)
          assert.equal(ends.length, 1)
          assert.equal(ends[0]!.state, 'done')
          assert.equal(ends[0]!.done, ROWS)
          const rest = await db.knex('items').where('v', 0).count({ n: '*' }).first()
          assert.equal(Number(rest?.n), 0)
        } finally {
          await evolve.close()
          await knex.destroy()
        }
      }))

    it('watch sees a pause made by another process, with the CLI user as who', () =>
      withDb(d, async (db) => {
        await createCounters(db.knex)
        const dir = await writeFiles({})
        const knex = runnerKnex(db)
        // Held back by its throttle hook: the run stays running until the test has looked.
        const run = { throttle: () => ({ reason: 'held by the test', ms: 50 }) }
        const evolve = await openEvolve({ knex, migrations: [slowCounter()], run })
        try {
          const changes: StateEvent[] = []
          evolve.events.on('run:state', (e) => changes.push(e))
          const held = new Promise((resolve) => evolve.events.once('throttled', resolve))
          const handle = await evolve.run()
          await held
          const stopWatching = evolve.watch({ intervalMs: 100 })
          const ticks: string[] = []
          evolve.events.on('progress', (p) => ticks.push(p.name))
          const paused = await runCli(['pause', '001_count', '--reason', 'deploy', '--db', db.url, '--dir', dir])
          assert.equal(paused.code, 0, output(paused))
          const seen = await waitUntil('the watcher reports the pause made by the CLI', async () => changes.find((c) => c.to === 'paused'))
          assert.match(seen.by, /.@./, 'the CLI acts as user@host')
          assert.equal(seen.reason, 'deploy')
          await waitUntil('a progress tick for the paused run', async () => ticks.includes('001_count'))
          const status = await statusJson('001_count', ['--db', db.url, '--dir', dir])
          assert.equal(status.changedBy, seen.by)
          stopWatching()
          handle.stop()
          await handle.done
        } finally {
          await evolve.close()
          await knex.destroy()
        }
      }))
  })
}

describe('a pause landing while a worker is between its look at the run and its claim', () => {
  // The throttle hook runs after a turn read the run and before it claims: the pause lands there.
  const cases = [
    { what: 'a new key range', atTurn: 3, migration: () => slowCounter(), options: {} },
    {
      what: 'a pending batch (the rest of one the byte cap cut)',
      atTurn: 2,
      migration: () => slowCounter('transform'),
      options: { maxBatchBytes: 30 }, // two rows of two numbers, then the cut
    },
  ]
  for (const dialect of dialects) {
    for (const { what, atTurn, migration, options } of cases) {
      it(`on ${dialect}: starts no batch after it, from ${what}`, () =>
        withDb(dialect, async (db) => {
          await createCounters(db.knex, 100)
          const conn = runnerKnex(db)
          let turns = 0
          let atPause: { state: string; n: number }[] = []
          const byState = async () =>
            (
              await db
                .knex('evolve_batches')
                .where({ run_name: '001_count' })
                .select('state')
                .count({ n: '*' })
                .groupBy('state')
                .orderBy('state')
            ).map((r: { state?: unknown; n?: unknown }) => ({ state: String(r.state), n: Number(r.n) }))
          // Once paused, the worker's next look at the run (its turn's read) shows whether it claimed
          // meanwhile: the run stops there.
          let paused = false
          conn.on('query', (q: { sql: string }) => {
            if (paused && q.sql.includes('b_run_name')) runner.stop()
          })
          const throttle = async () => {
            if (++turns === atTurn) {
              await pauseRun(db.knex, '001_count', 'test operator')
              atPause = await byState()
              paused = true
            }
            return false
          }
          const runner: Runner = new Runner({ knex: conn, migrations: [migration()], throttle, ...options })
          try {
            await runner.run()
          } finally {
            await conn.destroy()
          }
          assert.equal(turns, atTurn)
          if (what.startsWith('a pending'))
            assert.ok(
              atPause.some((b) => b.state === 'pending'),
              JSON.stringify(atPause),
            )
          assert.deepEqual(await byState(), atPause, 'no batch was claimed after the pause')
          assert.equal((await db.knex('evolve_runs').where({ name: '001_count' }).first()).state, 'paused')
          const evolved = Number((await db.knex('items').where({ v: 1 }).count({ n: '*' }).first())?.n)
          const recorded = Number(
            (await db.knex('evolve_batches').where({ run_name: '001_count', state: 'done' }).sum({ n: 'rows' }).first())?.n,
          )
          assert.equal(evolved, recorded, 'the rows of the batches done, no more')
        }))
    }
  }

  for (const dialect of dialects) {
    it(`on ${dialect}: does not take over, after it, a batch a killed process left claimed`, () =>
      withDb(dialect, async (db) => {
        await createItems(db.knex, 100)
        const project = await makeProject(db, (dir) => upMigration({ batchSize: 10, gate: [path.join(dir, 'gate'), 0] }))
        await writeFile(path.join(project.dir, 'gate'), '')
        const conn = runnerKnex(db)
        try {
          // A real process claims the first batch, parks at the gate inside it, and dies there.
          const victim = spawnCli(['run', ...project.flags, '--batch-size', '10'])
          const [orphan] = await waitUntil('a batch claimed by the process to kill', async () => {
            const owners = await claimOwners(db.knex, project.name)
            return owners.length > 0 ? owners : undefined
          })
          await victim.kill('SIGKILL')
          await rm(path.join(project.dir, 'gate')) // a batch wrongly taken over would now finish, not hang

          const evolve = await openEvolve({ knex: conn, migrations: project.migrationsDir, by: 'test@host' })
          let paused = false
          conn.on('query', (q: { sql: string }) => {
            if (paused && q.sql.includes('b_run_name')) handle.stop()
          })
          const throttle = async () => {
            if (!paused) await pauseRun(db.knex, project.name, 'test operator')
            paused = true
            return false
          }
          const handle = await evolve.run([], { throttle })
          await handle.done
          const claimed = (await batchRows(db.knex, project.name)).filter((b) => b.state !== 'done')
          assert.deepEqual(
            claimed.map((b) => [b.state, b.owner]),
            [['claimed', orphan]],
            'the dead process’s batch is still its own: not taken over after the pause',
          )
          assert.equal(Number((await db.knex('items').where('counter', '>', 0).count({ n: '*' }).first())?.n), 0)
          assert.equal((await db.knex('evolve_runs').where({ name: project.name }).first()).state, 'paused')
        } finally {
          await conn.destroy()
          await project.cleanup()
        }
      }))
  }
})
