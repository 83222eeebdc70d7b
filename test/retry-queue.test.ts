// Queueing a run's failed objects for retry twice (the admin API's retry-failures, on a real
// port) queues them once: the second request is a 409 saying they are queued already, and a
// runner serving the run then drives each failed object once more, not twice.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Evolve, createMigration, defineMigration, openEvolve } from '../lib/index.ts'
import { type ApiServer, problemOf, startApi } from './helpers/admin-api.ts'
import { type FreshDatabase, dialects, runnerKnex, withDb } from './helpers/databases.ts'
import { createUsers, failureRows } from './helpers/fixtures.ts'

const NAME = '20260101000000_poisoned'
const ROWS = 60
const BAD = (id: number) => id % 10 === 0
const BAD_IDS = Array.from({ length: ROWS }, (_, i) => i + 1).filter(BAD)
const BATCH = 4
const CHUNKS = Math.ceil(BAD_IDS.length / BATCH)

/** Throws for every bad row, every time: each drive of a failed object counts one attempt more. */
const migrations = () => [
  createMigration(
    NAME,
    defineMigration({
      table: 'users',
      batchSize: BATCH,
      transform: (row) => {
        if (row.bad) throw new Error(`poison row ${String(row.id)}`)
        return { counter: Number(row.counter) + 1 }
      },
    }),
  ),
]

const retryBatches = async (knex: import('knex').Knex) =>
  (await knex('evolve_batches').where({ run_name: NAME, phase: 'retry' }).orderBy('id')) as { state: string; keys: string }[]

/** The run failed on BAD_IDS, a runner to serve it and an admin API on a real port, each on its own knex. */
async function withFailedRun(
  d: (typeof dialects)[number],
  fn: (parts: { db: FreshDatabase; runner: Evolve; api: ApiServer }) => Promise<void>,
): Promise<void> {
  await withDb(d, async (db) => {
    await createUsers(db, { count: ROWS, bad: BAD })
    const runnerDb = runnerKnex(db)
    const apiDb = runnerKnex(db)
    const runner = await openEvolve({ knex: runnerDb, migrations: migrations() })
    const api = await startApi(await openEvolve({ knex: apiDb, migrations: migrations() }))
    try {
      const [first] = await (await runner.run([NAME])).done
      assert.equal(first!.state, 'failed')
      await fn({ db, runner, api })
    } finally {
      await api.close()
      await runnerDb.destroy()
      await apiDb.destroy()
    }
  })
}

for (const d of dialects) {
  describe(`retry-failures on ${d}`, () => {
    it('queueing the failed objects twice queues them once, answers 409 E_RETRY_QUEUED the second time, and a runner then drives each once more', () =>
      withFailedRun(d, async ({ db, runner, api }) => {
        const failed = await failureRows(db.knex, NAME)
        assert.deepEqual(
          failed.map((f) => f.key),
          BAD_IDS,
        )
        assert.ok(
          failed.every((f) => f.attempts === 1),
          JSON.stringify(failed),
        )

        const queue = () => api.call(`/runs/${NAME}/retry-failures`, { method: 'POST' })
        const once = await queue()
        assert.equal(once.status, 200)
        assert.deepEqual(await once.json(), { name: NAME, state: 'running', queued: BAD_IDS.length })

        const twice = await queue()
        assert.equal(twice.status, 409)
        const problem = await problemOf(twice)
        assert.equal(problem.code, 'E_RETRY_QUEUED')
        assert.equal(problem.state, 'running', 'a 409 says the state the run is in')
        assert.equal(
          problem.detail,
          `the ${BAD_IDS.length} failed objects of "${NAME}" are queued for retry already: \`evolve run ${NAME}\` serves them`,
        )
        const queued = await retryBatches(db.knex)
        assert.equal(queued.length, CHUNKS, 'one retry batch per chunk of failed objects')
        assert.ok(
          queued.every((b) => b.state === 'pending'),
          'the API process served none',
        )
        assert.equal((await runner.progress(NAME)).state, 'running')

        // A runner serves the run: every failed object is driven once more (it fails again).
        const [served] = await (await runner.run([NAME])).done
        assert.equal(served!.state, 'failed')
        const after = await failureRows(db.knex, NAME)
        assert.deepEqual(
          after.map((f) => [f.key, f.attempts]),
          BAD_IDS.map((id) => [id, 2]),
          'each failed object attempted once more, not twice',
        )
        const counters = await db.knex('users').select('id', 'counter').orderBy('id')
        for (const r of counters as { id: number; counter: number }[])
          assert.equal(Number(r.counter), BAD(r.id) ? 0 : 1, `row ${r.id} evolved once`)

        // Nothing is queued any more: the next request queues them again.
        const again = await queue()
        assert.equal(again.status, 200)
        assert.deepEqual(await again.json(), { name: NAME, state: 'running', queued: BAD_IDS.length })
        assert.equal((await retryBatches(db.knex)).filter((b) => b.state === 'pending').length, CHUNKS)
      }))

    it('failed objects queued already are left out when a retry queues the others', () =>
      withFailedRun(d, async ({ db, api }) => {
        // One failed object is queued already (an earlier retry's batch no runner took yet).
        const [head, ...rest] = BAD_IDS
        await db.knex('evolve_batches').insert({
          run_name: NAME,
          phase: 'retry',
          keys: JSON.stringify([head]),
          state: 'pending',
          created_at: Date.now(),
        })
        const res = await api.call(`/runs/${NAME}/retry-failures`, { method: 'POST' })
        assert.equal(res.status, 200)
        assert.deepEqual(await res.json(), { name: NAME, state: 'running', queued: rest.length })
        const keys = (await retryBatches(db.knex)).flatMap((b) => JSON.parse(b.keys) as number[]).sort((a, b) => a - b)
        assert.deepEqual(keys, BAD_IDS, 'every failed object in exactly one retry batch')
      }))
  })
}
