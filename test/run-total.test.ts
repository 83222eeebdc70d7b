// A run's total (rows pending when it started) is counted beside its first batches, not
// before them: the run starts at once with no total, and the total lands later in
// `run:total`, exact however many batches committed before the count read the table.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import knexFactory, { type Knex } from 'knex'
import { Runner, loadMigrations } from '../lib/index.ts'
import { dialects, fresh, runnerKnex, withDb } from './helpers/databases.ts'
import { createItems, createUsers, makeProject, migrationSource, runRow, setMigration, writeFiles } from './helpers/fixtures.ts'
import { output, runCli } from './helpers/cli.ts'

const NAME = '001_lower'
const LOWER = migrationSource(
  `{ table: 'users', pending: (q) => q.whereRaw('email <> lower(email)'), set: { email: (k) => k.raw('lower(email)') } }`,
)
/** createUsers' default seed: every third row is pending. */
const pendingOf = (count: number) => Math.floor(count / 3)

type TotalEvent = { run: string; total: number | null; error: string | null }

async function storedTotal(knex: Knex): Promise<number | null> {
  const row = await knex('evolve_runs').where({ name: NAME }).first('total_estimate')
  return row?.total_estimate == null ? null : Number(row.total_estimate)
}

async function scanRowsDone(knex: Knex): Promise<number> {
  const row = await knex('evolve_batches').where({ run_name: NAME, phase: 'scan', state: 'done' }).sum({ n: 'rows' }).first()
  return Number(row?.n ?? 0)
}

/** A Runner whose run:start and run:total events are recorded. */
function recorded(runner: Runner) {
  const starts: (number | null)[] = []
  const totals: TotalEvent[] = []
  runner.events.on('run:start', (e) => starts.push(e.total))
  runner.events.on('run:total', (e) => totals.push(e))
  return { starts, totals }
}

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('a new run starts without a total and stores the rows pending when it started, in one run:total', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 300 })
        const dir = await writeFiles({ [`${NAME}.ts`]: LOWER })
        const knex = runnerKnex(db)
        try {
          // Tiny batches: many of them commit while the total is being counted.
          const runner = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 5 })
          const { starts, totals } = recorded(runner)
          const [result] = await runner.run()
          assert.equal(result?.state, 'done')
          assert.deepEqual(starts, [null], 'run:start does not wait for the count')
          assert.deepEqual(totals, [{ run: NAME, total: pendingOf(300), error: null }])
          assert.equal(await storedTotal(db.knex), pendingOf(300))
          assert.equal(result?.total, pendingOf(300))
          assert.equal(result?.done, pendingOf(300))
        } finally {
          await knex.destroy()
        }
      }))

    it('a run whose runner died before its count landed counts, on resume, the rows pending when it started, not those left', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 300 })
        const dir = await writeFiles({ [`${NAME}.ts`]: LOWER })
        const knex = runnerKnex(db)
        try {
          const first = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 10 })
          first.events.on('batch:done', () => first.stop())
          const [stopped] = await first.run()
          assert.equal(stopped?.state, 'running', 'the first runner stopped mid-run')
          // What a runner killed before its count landed leaves behind.
          await db.knex('evolve_runs').where({ name: NAME }).update({ total_estimate: null })
          const evolved = await scanRowsDone(db.knex)
          assert.ok(evolved > 0 && evolved < pendingOf(300), `some rows were evolved already: ${evolved}`)

          const second = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 10 })
          const { starts, totals } = recorded(second)
          const [result] = await second.run()
          assert.equal(result?.state, 'done')
          assert.deepEqual(starts, [null])
          // Counting only the rows still pending would give pendingOf(300) - evolved.
          assert.deepEqual(totals, [{ run: NAME, total: pendingOf(300), error: null }])
          assert.equal(await storedTotal(db.knex), pendingOf(300))
        } finally {
          await knex.destroy()
        }
      }))

    it('a resumed run keeps the total it has: nothing is counted again', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 90 })
        const dir = await writeFiles({ [`${NAME}.ts`]: LOWER })
        const knex = runnerKnex(db)
        try {
          const first = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 10 })
          first.events.on('batch:done', () => first.stop())
          await first.run()
          // A total no count would give: only a rewrite could change it.
          await db.knex('evolve_runs').where({ name: NAME }).update({ total_estimate: 4321 })

          const second = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 10 })
          const { starts, totals } = recorded(second)
          const [result] = await second.run()
          assert.equal(result?.state, 'done')
          assert.deepEqual(starts, [4321], 'run:start reports the total the run has')
          assert.deepEqual(totals, [])
          assert.equal(await storedTotal(db.knex), 4321)
        } finally {
          await knex.destroy()
        }
      }))

    // PostgreSQL: two in-process runners on one SQLite file would block each other's thread.
    it('two runners starting the same run at once store one total, announced once', { skip: d === 'sqlite' }, () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 300 })
        const dir = await writeFiles({ [`${NAME}.ts`]: LOWER })
        const knexes = [runnerKnex(db), runnerKnex(db)]
        try {
          const runners = await Promise.all(
            knexes.map(async (knex) => new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 5 })),
          )
          const totals: TotalEvent[] = []
          for (const r of runners) r.events.on('run:total', (e) => totals.push(e))
          const results = await Promise.all(runners.map((r) => r.run()))
          assert.deepEqual(
            results.map(([p]) => p?.state),
            ['done', 'done'],
          )
          assert.deepEqual(totals, [{ run: NAME, total: pendingOf(300), error: null }])
          assert.equal(await storedTotal(db.knex), pendingOf(300))
        } finally {
          await Promise.all(knexes.map((k) => k.destroy()))
        }
      }),
    )

    for (const [what, count, expected] of [
      ['an empty table', 0, 0],
      ['a table of two rows, one pending', 2, 1],
    ] as const) {
      it(`a run on ${what} ends done with its total stored`, () =>
        withDb(d, async (db) => {
          await createUsers(db, { count, pending: (id) => id === 2 })
          const dir = await writeFiles({ [`${NAME}.ts`]: LOWER })
          const knex = runnerKnex(db)
          try {
            const runner = new Runner({ knex, migrations: await loadMigrations(dir) })
            const { totals } = recorded(runner)
            const [result] = await runner.run()
            assert.equal(result?.state, 'done')
            assert.deepEqual(totals, [{ run: NAME, total: expected, error: null }])
            assert.equal(await storedTotal(db.knex), expected)
            assert.equal((await runRow(db.knex, NAME))?.state, 'done')
          } finally {
            // run() settled the count: destroying the knex right away leaves nothing running on it.
            await knex.destroy()
          }
        }))
    }
  })
}

describe('sqlite', () => {
  it('a count that fails is announced in run:total with its error, and the run still ends done without a total', async () => {
    const db = await fresh('sqlite')
    // `gate(id)` in `pending` fails the first count of the users table, and only it: the
    // batches' statements and the final sweep count go through.
    let counts = 0
    let failing = false
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: db.file },
      useNullAsDefault: true,
      pool: {
        afterCreate(conn: { function(name: string, fn: (id: number) => number): void }, done: (err: Error | null, conn: unknown) => void) {
          // Declared with its argument: better-sqlite3 takes the function's arity from it.
          conn.function('gate', (id: number) => {
            if (!failing) return id === id ? 1 : 0
            failing = false
            throw new Error('the count broke')
          })
          done(null, conn)
        },
      },
    })
    knex.on('query', ({ sql }: { sql: string }) => {
      if (/^select count\(\*\) .* from `users`/i.test(sql) && ++counts === 1) failing = true
    })
    try {
      await createUsers(db, { count: 30 })
      const dir = await writeFiles({
        [`${NAME}.ts`]: migrationSource(
          `{ table: 'users', pending: (q) => q.whereRaw('gate(id) = 1 and email <> lower(email)'), set: { email: (k) => k.raw('lower(email)') } }`,
        ),
      })
      const runner = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 5 })
      const { totals } = recorded(runner)
      const [result] = await runner.run()
      assert.equal(result?.state, 'done')
      assert.equal(result?.done, pendingOf(30))
      assert.equal(totals.length, 1)
      assert.equal(totals[0]!.total, null)
      assert.match(totals[0]!.error ?? '', /the count broke/)
      assert.equal(await storedTotal(db.knex), null)
      assert.ok(counts >= 2, 'the final count ran too, and passed')
    } finally {
      await knex.destroy()
      await db.drop()
    }
  })

  it('evolve run prints the total when it lands: `<run>: <total> rows pending`, once', async () => {
    const db = await fresh('sqlite')
    try {
      await createItems(db.knex, 120)
      const project = await makeProject(db, setMigration(50))
      try {
        const run = await runCli(['run', ...project.flags])
        assert.equal(run.code, 0, output(run))
        const lines = run.stdout.split('\n')
        assert.deepEqual(
          lines.filter((l) => l.includes('rows pending')),
          [`${project.name}: 120 rows pending`],
          run.stdout,
        )
        assert.ok(lines.includes(`${project.name}: starting`), run.stdout)
      } finally {
        await project.cleanup()
      }
    } finally {
      await db.drop()
    }
  })
})
