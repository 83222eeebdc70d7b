// A row that brings the process down (out of memory, a native crash; here the transform kills its
// own process with SIGKILL) would kill every `evolve run` that takes its batch over, for ever. A
// batch whose worker died in it WORKER_DEATHS_BEFORE_SPLIT times is split like a failing one, so
// restarting the run (as a supervisor does) ends with that one row recorded as failed.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { WORKER_DEATHS_BEFORE_SPLIT } from '../lib/core/execute-batch.ts'
import { runCli } from './helpers/cli.ts'
import { dialects, withDb } from './helpers/databases.ts'
import { counterHistogram, createItems, failureRows, runRow, workspace } from './helpers/fixtures.ts'

const ROWS = 400
const BATCH = 50
const DEADLY = 277
/** Restarts allowed: the first batch's deaths, then about one per halving down to one row. */
const MOST_DEATHS = WORKER_DEATHS_BEFORE_SPLIT + Math.ceil(Math.log2(BATCH)) + 1

// A short wait per row keeps sibling workers' batches in flight side by side when the process dies.
const deadlyMigration = `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  batchSize: ${BATCH},
  pending: (q) => q.where('counter', 0),
  async transform(row) {
    if (row.id === ${DEADLY}) process.kill(process.pid, 'SIGKILL')
    await new Promise((resolve) => setTimeout(resolve, 3))
    return { counter: 1 }
  },
})
`

for (const d of dialects) {
  for (const workers of [1, 3])
    describe(`${d}, ${workers} worker(s)`, () => {
      it('a row that kills every process evolving it is isolated and recorded as failed after a bounded number of restarts, and every other row is evolved once (its neighbours in sibling workers too)', () =>
        withDb(d, async (db) => {
          await createItems(db.knex, ROWS)
          const ws = await workspace()
          try {
            const name = await ws.migration('001_deadly', deadlyMigration)
            const args = ['run', '--db', db.url, '--dir', ws.dir, '--batch-size', String(BATCH), '--workers', String(workers)]
            let deaths = 0
            // A supervisor restarting the run after each crash; without the split it never ends.
            for (;;) {
              const result = await runCli(args)
              if (result.signal === null) break
              assert.equal(result.signal, 'SIGKILL', result.stderr)
              deaths++
              assert.ok(deaths <= MOST_DEATHS, `still dying after ${deaths} restarts:\n${result.stdout}\n${result.stderr}`)
            }

            // Ended as any run with failed objects ends: failed, naming them and the way on.
            const run = await runRow(db.knex, name)
            assert.equal(run?.state, 'failed')
            assert.match(String(run?.lastError), /1 object failed: see `evolve failures 001_deadly`/)
            assert.ok(deaths >= WORKER_DEATHS_BEFORE_SPLIT, `the row killed ${deaths} processes`)
            const failures = await failureRows(db.knex, name)
            assert.deepEqual(
              failures.map((f) => Number(f.key)),
              [DEADLY],
            )
            assert.match(failures[0]!.error, /the process evolving it died \d+ times \(killed, out of memory, or a crash\)/)
            assert.deepEqual(await counterHistogram(db.knex), { 0: 1, 1: ROWS - 1 })
          } finally {
            await ws.cleanup()
          }
        }))
    })
}
