// The Runner's own lifecycle, in-process: a pause that lands while a worker is finishing
// the run, and one worker's fatal error with siblings still at work.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import knexFactory from 'knex'
import { Runner, loadMigrations, pauseRun, resumeRun } from '../lib/index.ts'
import { sqliteDialect } from '../lib/dialects/sqlite/index.ts'
import { dialects, fresh, runnerKnex, withDb } from './helpers/databases.ts'
import { createUsers, migrationSource, rowsOf, runRow, waitUntil, writeFiles } from './helpers/fixtures.ts'

const NAME = '001_count'
// No `pending`: every row once; `counter` counts the evolutions of each row.
const countUp = (sleepMs: number) => `{
  table: 'users',
  async up(rows, { trx }) {
    await new Promise((resolve) => setTimeout(resolve, ${sleepMs}))
    await trx('users').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
  },
}`

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('a pause that lands while the last worker finishes the run keeps the run paused and waiting, then it ends done on resume', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 30 })
        const dir = await writeFiles({ [`${NAME}.ts`]: migrationSource(countUp(0)) })
        const knex = runnerKnex(db)
        try {
          // The hook runs at the top of each worker step, on a run state read just before:
          // pausing from inside it is a pause racing the step that finalizes the run.
          let pausing = false
          // The runner's reads of the run row once the pause committed: a worker reads it at
          // the top of every step, so a few of them mean it saw the pause and stayed.
          let readsSincePause: number | undefined
          knex.on('query', ({ sql }: { sql: string }) => {
            if (readsSincePause !== undefined && /^select .* from ["`]evolve_runs["`]/i.test(sql)) readsSincePause++
          })
          const throttle = async () => {
            const left = await knex('users').where({ counter: 0 }).count({ n: '*' }).first()
            if (!pausing && Number(left?.n) === 0) {
              pausing = true
              await pauseRun(knex, NAME)
              readsSincePause = 0
            }
            return false
          }
          const runner = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 10, throttle })
          let settled = false
          const running = runner.run().finally(() => (settled = true))
          await waitUntil('the runner to look at the paused run three times', async () => settled || (readsSincePause ?? 0) >= 3)
          assert.equal(settled, false, 'the runner waits on the paused run instead of leaving')
          assert.equal((await runRow(db.knex, NAME))?.state, 'paused')

          await resumeRun(knex, NAME)
          const [result] = await running
          assert.equal(result?.state, 'done')
          for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.counter, 1, `row ${row.id}`)
        } finally {
          await knex.destroy()
        }
      }))

    it("one worker's fatal error stops its siblings after their batch before run() rejects, and the Runner can run again", () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 400 })
        const dir = await writeFiles({ [`${NAME}.ts`]: migrationSource(countUp(100)) })
        const knex = runnerKnex(db)
        try {
          // The hook breaks once, on its third call: the other worker is in a batch then.
          let calls = 0
          const throttle = async () => {
            if (++calls === 3) throw new Error('the throttle hook broke')
            return false
          }
          const runner = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 10, workers: 2, throttle })
          await assert.rejects(runner.run(), /the throttle hook broke/)

          const claimed = await db.knex('evolve_batches').where({ run_name: NAME, state: 'claimed' }).count({ n: '*' }).first()
          assert.equal(Number(claimed?.n), 0, 'no batch is left claimed')
          const live = await db.knex('evolve_workers').whereNull('stopped_at').count({ n: '*' }).first()
          assert.equal(Number(live?.n), 0, 'every worker has stopped')
          const evolved = async () => Number((await db.knex('users').where('counter', '>', 0).count({ n: '*' }).first())?.n)
          const before = await evolved()
          assert.ok(before < 400, `the run stopped early (${before} rows evolved)`)
          // A window for an absence (a stray worker would go on evolving): it can miss one on a
          // busy machine, never fail a Runner that stopped.
          await sleep(500)
          assert.equal(await evolved(), before, 'nothing evolves after run() rejected')
          for (const row of await rowsOf(db.knex, 'users')) assert.ok((row.counter as number) <= 1, `row ${row.id} evolved once at most`)

          // The same Runner, asked again (the hook works now), finishes the run.
          const [again] = await runner.run()
          assert.equal(again?.state, 'done')
          for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.counter, 1, `row ${row.id}`)
        } finally {
          await knex.destroy()
        }
      }))
  })
}

describe('sqlite', () => {
  it('workers of one process leave the write lock to the app between all their batches, not only after their own', async () => {
    const db = await fresh('sqlite')
    const knex = knexFactory(sqliteDialect.knexConfig({ filename: db.file }))
    try {
      await createUsers(db, { count: 300 })
      // Batches of 40 ms or more: SQLite's pause after each is half that (lib/dialects/sqlite/index.ts).
      const dir = await writeFiles({ [`${NAME}.ts`]: migrationSource(countUp(40)) })
      const runner = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 10, workers: 3 })
      // A batch starts with its claim fence (the first statement of its transaction) and ends at batch:done.
      const starts: number[] = []
      const ends: number[] = []
      knex.on('query', ({ sql }: { sql: string }) => {
        if (/update\s+["`]evolve_batches["`]\s+set\s+["`]attempts["`]\s*=\s*["`]attempts["`]\s*\+/i.test(sql))
          starts.push(performance.now())
      })
      runner.events.on('batch:done', () => ends.push(performance.now()))
      const [result] = await runner.run()
      assert.equal(result?.state, 'done')
      assert.equal(starts.length, 30)
      assert.equal(ends.length, 30)
      // At least 20 ms, as timers never fire early (a little less at most, for clock reads).
      const gaps = starts.slice(1).map((start, i) => start - ends[i]!)
      assert.ok(
        gaps.every((gap) => gap >= 18),
        `gaps between batches (ms): ${gaps.map((g) => g.toFixed(1)).join(', ')}`,
      )
      for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.counter, 1, `row ${row.id}`)
    } finally {
      await knex.destroy()
      await db.drop()
    }
  })
})
