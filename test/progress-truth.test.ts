// What status reports for runs that are not simply running or done (found by a user trial):
// a run its sweeps left with rows pending, a snapshot run that never swapped, a finished run's
// rate over the time its batches ran, and run:end's counts for a snapshot run.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { type EvolveEvents, Runner, assertDone, loadMigrations, openEvolve } from '../lib/index.ts'
import { EvolveEmitter } from '../lib/core/events.ts'
import { openRun } from '../lib/core/open-run.ts'
import { storeFor } from '../lib/store/store.ts'
import { startApi } from './helpers/admin-api.ts'
import { statusJson } from './helpers/cli.ts'
import { type FreshDatabase, dialects, runnerKnex, withDb } from './helpers/databases.ts'
import { TABLE, createItems, createShop, migrationSource, snapshotMigration, writeFiles } from './helpers/fixtures.ts'

const NAME = '001_rewritten'

/**
 * Marks its rows evolved and, as an old app instance would, writes two rows in the old shape
 * below every key the scan passed: each pass leaves rows pending for the next, and the last
 * sweep gives up. One worker, so the keys it picks cannot collide.
 */
const REWRITTEN = migrationSource(`{
  table: '${TABLE}',
  batchSize: 50,
  sweeps: 1,
  pending: (q) => q.where('counter', 0),
  up: async (rows, { trx }) => {
    await trx('${TABLE}').whereIn('id', rows.map((r) => r.id)).update({ counter: 1 })
    const low = Math.min(0, Number((await trx('${TABLE}').min({ m: 'id' }).first()).m))
    await trx('${TABLE}').insert([{ id: low - 1, counter: 0 }, { id: low - 2, counter: 0 }])
  },
}`)

async function stillOld(knex: Knex): Promise<number> {
  return Number((await knex(TABLE).where({ counter: 0 }).count({ n: '*' }).first())?.n)
}

async function runToEnd(db: FreshDatabase, dir: string, stopAtSweep = false) {
  const knex = runnerKnex(db)
  try {
    const runner = new Runner({ knex, migrations: await loadMigrations(dir), workers: 1 })
    if (stopAtSweep) runner.events.on('sweep', () => runner.stop())
    const [result] = await runner.run()
    return result
  } finally {
    await knex.destroy()
  }
}

/** Runs the snapshot migration `001_snap` of `dir` to its end: its progress, and its run:end events as [state, done, failed]. */
async function runSnapshot(db: FreshDatabase, dir: string) {
  const knex = runnerKnex(db)
  const evolve = await openEvolve({ knex, migrations: dir })
  try {
    const ends: EvolveEvents['run:end'][0][] = []
    evolve.events.on('run:end', (e) => ends.push(e))
    const [result] = await (await evolve.run()).done
    return { result, ends: ends.filter((e) => e.run === '001_snap').map((e) => [e.state, e.done, e.failed]) }
  } finally {
    await evolve.close()
    await knex.destroy()
  }
}

for (const d of dialects) {
  describe(`progress truth on ${d}`, { concurrency: 2 }, () => {
    it('a sweep in progress has no remaining count (unknown), not 0', () =>
      withDb(d, async (db) => {
        await createItems(db.knex, 200)
        const dir = await writeFiles({ [`${NAME}.ts`]: REWRITTEN })
        const stopped = await runToEnd(db, dir, true)
        assert.equal(stopped?.state, 'running', 'the runner stopped as its sweep began')
        assert.equal(stopped?.phase, 'sweep')
        assert.ok((await stillOld(db.knex)) > 0, 'rows are pending for the sweep')
        assert.equal(stopped?.remaining, null)
      }))

    it('a run whose sweeps kept finding old rows shows them remaining in status, its JSON and the metrics gauge; assertDone says `evolve run`', () =>
      withDb(d, async (db) => {
        await createItems(db.knex, 200)
        const dir = await writeFiles({ [`${NAME}.ts`]: REWRITTEN })
        const result = await runToEnd(db, dir)
        assert.equal(result?.state, 'failed')
        assert.match(result?.lastError ?? '', /^\d+ rows? still pending after 1 sweep:/, 'finalize gave up on its sweeps')
        const pending = await stillOld(db.knex)
        assert.ok(pending > 0)
        assert.equal(result?.remaining, pending, 'the rows finalize found pending, and nothing has written since')
        assert.equal(result?.total, result!.done + result!.failed + pending, 'the bar does not read full')

        const json = await statusJson(NAME, ['--db', db.url, '--dir', dir])
        assert.equal(json.remaining, pending)

        const knex = runnerKnex(db)
        const api = await startApi({ knex, migrations: dir })
        try {
          const metrics = await (await api.call('/metrics')).text()
          assert.match(metrics, new RegExp(`^evolve_run_rows_remaining\\{migration="${NAME}"\\} ${pending}$`, 'm'))
          await assert.rejects(assertDone(knex, NAME), (err: Error) => {
            assert.match(err.message, new RegExp(`\\(state: failed, ${pending} rows remaining\\): \`evolve run ${NAME}\` runs it again`))
            assert.match(err.message, /no object failed: nothing to retry/)
            assert.doesNotMatch(err.message, /evolve retry/)
            return true
          })
        } finally {
          await api.close()
          await knex.destroy()
        }
        // `evolve run` again, as told: once running, the old reason is not shown as its error.
        const store = storeFor(db.knex)
        const [m] = await loadMigrations(dir)
        await openRun({ store, events: new EvolveEmitter(), knex: db.knex, by: 'test' }, m!)
        const resumed = await store.runs.get(db.knex, NAME)
        assert.deepEqual([resumed?.state, resumed?.lastError], ['running', null])
      }))

    it("a finished run's rate is over the time its batches ran, not the stops between them", () =>
      withDb(d, async (db) => {
        await createItems(db.knex, 200)
        const name = '002_count'
        const dir = await writeFiles({
          [`${name}.ts`]: migrationSource(`{ table: '${TABLE}', batchSize: 20, set: { counter: (k) => k.raw('counter + 1') } }`),
        })
        const result = await runToEnd(db, dir)
        assert.equal(result?.state, 'done')
        const counted = (await db.knex('evolve_runs').where({ name }).first()).active_ms
        assert.notEqual(counted, null, 'the time its batches ran is stored when the run ends, not counted on every status read')
        assert.ok(Number(counted) >= 0)
        // Lay the batches out on a known clock: one a second, each running 500 ms, with an hour's
        // stop in the middle (a pause, or a failed run waiting for its rerun).
        const ids = (await db.knex('evolve_batches').where({ run_name: name }).orderBy('id').select('id')).map((r) => Number(r.id))
        assert.ok(ids.length >= 2, `several batches: ${ids.length}`)
        const t0 = 1_700_000_000_000
        const hour = 3_600_000
        for (const [i, id] of ids.entries()) {
          const claimed = t0 + i * 1000 + (i >= ids.length / 2 ? hour : 0)
          await db
            .knex('evolve_batches')
            .where({ id })
            .update({ claimed_at: claimed, finished_at: claimed + 500 })
        }
        const end = t0 + (ids.length - 1) * 1000 + hour + 500
        // Counted again from them, as for a run that ended before the count was stored.
        await db.knex('evolve_runs').where({ name }).update({ started_at: t0, finished_at: end, active_ms: null })

        const evolve = await openEvolve({ knex: db.knex, migrations: dir })
        try {
          const p = await evolve.progress(name)
          // From the first claim to the last end, less the hour and the 500 ms before it with no batch in flight.
          assert.equal(p.rowsPerSecond, Math.round(p.done / (ids.length - 1)))
        } finally {
          await evolve.close()
        }
      }))

    it("a snapshot run whose verify refused the swap shows none of the copy's rows done: the table still has them all to do", () =>
      withDb(d, async (db) => {
        await createShop(db, 100)
        const dir = await writeFiles({
          ['001_snap.ts']: snapshotMigration('verify: async (knex, table) => (await knex(table).count({ n: "*" }).first()).n == 0,'),
        })
        const { result, ends } = await runSnapshot(db, dir)
        assert.equal(result?.state, 'failed')
        assert.equal(result?.snapshot?.step, 'verify')
        assert.equal(result?.snapshot?.evolved?.done, 100, "the copy's own progress")
        assert.equal(result?.done, 0, 'the table is untouched')
        assert.equal(result?.remaining, 100)
        assert.equal(result?.total, 100)
        assert.deepEqual(ends, [['failed', 0, 0]])
      }))

    it("a swapped snapshot run's run:end counts its copy's rows, as its status does", () =>
      withDb(d, async (db) => {
        await createShop(db, 100)
        const dir = await writeFiles({ ['001_snap.ts']: snapshotMigration('batchSize: 30,') })
        const { result, ends } = await runSnapshot(db, dir)
        assert.equal(result?.state, 'done')
        assert.equal(result?.done, 100)
        assert.deepEqual(ends, [['done', 100, 0]])
      }))
  })
}
