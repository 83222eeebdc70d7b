// A row that brings the process down (out of memory, a native crash; here the transform kills its
// own process with SIGKILL) would kill every `evolve run` that takes its batch over, for ever. A
// batch whose worker died in it WORKER_DEATHS_BEFORE_SPLIT times is split like a failing one, so
// restarting the run (as a supervisor does) ends with that one row recorded as failed.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { WORKER_DEATHS_BEFORE_SPLIT } from '../lib/core/execute-batch.ts'
import { exitOf, output, runCli, spawnCli } from './helpers/cli.ts'
import { dialects, withDb } from './helpers/databases.ts'
import { counterHistogram, createItems, failureRows, runRow, waitUntil, workspace } from './helpers/fixtures.ts'

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

// A death counts against the batch it happened in, so a suspect batch (one a process died in) runs
// alone. Waiting for its siblings to finish theirs, it is not in flight yet: a sibling's batch that
// kills the process meanwhile must not count against it. PostgreSQL only: on SQLite a process's
// workers take turns one at a time, so none is ever in flight beside another.
const STALL = 5 // in the first batch (ids 1–10): holds the first process there until it is killed
const KILLER = 15 // in the second batch (ids 11–20): kills the second process when the test says so
const waitingMigration = (marker: string) => `import { existsSync } from 'node:fs'
import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  pending: (q) => q.where('counter', 0),
  async transform(row) {
    if (row.id === ${STALL} && process.env.ROLE === 'first') await new Promise(() => {})
    if (row.id === ${KILLER} && process.env.ROLE === 'second') {
      while (!existsSync(${JSON.stringify(marker)})) await new Promise((resolve) => setTimeout(resolve, 20))
      process.kill(process.pid, 'SIGKILL')
    }
    return { counter: 1 }
  },
})
`

describe('postgres, a suspect batch waiting to run alone', () => {
  it('is not counted for a death a sibling batch caused while it waited, and the run then ends with every row evolved once', () =>
    withDb('postgres', async (db) => {
      await createItems(db.knex, 100)
      const ws = await workspace()
      try {
        const marker = path.join(ws.dir, 'kill-now')
        const name = await ws.migration('001_wait_alone', waitingMigration(marker))
        const args = (workers: number) => ['run', '--db', db.url, '--dir', ws.dir, '--batch-size', '10', '--workers', String(workers)]
        const batches = () => db.knex('evolve_batches').where({ run_name: name }).orderBy('id')

        // The first process stalls in the first batch, then dies there: that batch is suspect.
        const first = spawnCli(args(1), { env: { ROLE: 'first' } })
        const stalled = await waitUntil('the first batch claimed', async () =>
          (await db.knex.schema.hasTable('evolve_batches')) ? (await batches().where({ state: 'claimed' }))[0] : undefined,
        )
        // The second, with two workers, evolves the rest while the first lives, but for the
        // second batch, which it holds on to: the scan is done, one batch of its own in flight.
        const second = spawnCli([...args(2), '--log-format', 'json'], { env: { ROLE: 'second' } })
        await waitUntil('the second process holding the second batch, every other batch done', async () => {
          const all = await batches()
          const done = all.filter((b) => b.state === 'done').length
          return done === 8 && all.filter((b) => b.state === 'claimed' && b.owner !== stalled.owner).length === 1
        })
        await first.kill()
        // Its worker finds the first batch's owner dead and waits to run it alone; claimed before
        // waiting (the defect), the batch would show the new owner.
        await waitUntil('the suspect batch waiting to run alone', async () => {
          if (second.stdout.includes('"event":"batch:alone"')) return true
          const [row] = await batches().where({ id: stalled.id })
          return row.owner !== stalled.owner
        })
        await writeFile(marker, '')
        const died = await exitOf(second)
        assert.equal(died.signal, 'SIGKILL', died.stderr)

        const [after] = await batches().where({ id: stalled.id })
        assert.equal(after.attempts, 0, 'the second death was counted against the batch waiting to run alone')

        // A third process takes both over (each counting one death) and ends the run.
        const third = await runCli(args(2))
        assert.equal(third.code, 0, output(third))
        assert.deepEqual(await counterHistogram(db.knex), { 1: 100 })
        assert.deepEqual(await failureRows(db.knex, name), [])
      } finally {
        await ws.cleanup()
      }
    }))
})
