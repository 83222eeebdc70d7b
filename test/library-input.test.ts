// Bad input to the library's admin object (openEvolve, run, retry, plan, failures): one usage
// error naming the option, what it must be and what was found, thrown before anything
// changed: no tracking tables, no run moved, the data as it was.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Evolve, createMigration, defineMigration, openEvolve } from '../lib/index.ts'
import { assertRefused } from './helpers/cli.ts'
import { dialects, type FreshDatabase, withDb } from './helpers/databases.ts'
import { createItems, failureRows, rowsOf, runRow, tempDir, trackingTables } from './helpers/fixtures.ts'

const NAME = '001_bump'
const bump = (name = NAME) => createMigration(name, defineMigration({ table: 'items', set: { counter: (k) => k.raw('counter + 1') } }))
/** Rows 3 and 7 cannot be evolved: a run of it ends `failed` with two failed objects. */
const POISON = [3, 7]
const poisoned = () =>
  createMigration(
    NAME,
    defineMigration({
      table: 'items',
      transform: (row) => {
        if (POISON.includes(Number(row.id))) throw new Error(`poison row ${row.id}`)
        return { counter: Number(row.counter) + 1 }
      },
    }),
  )

/** Seeds `items`; the returned check asserts there are still no tracking tables and the data is as it was. */
async function untouched(db: FreshDatabase): Promise<() => Promise<void>> {
  await createItems(db.knex, 20)
  const before = await rowsOf(db.knex, 'items')
  return async () => {
    assert.deepEqual(await trackingTables(db), [], 'no tracking tables were created')
    assert.deepEqual(await rowsOf(db.knex, 'items'), before, 'the data is unchanged')
  }
}

/** A run of `poisoned()` that ended `failed`, and a check that its run, failures and data are as they were then. */
async function failedRun(db: FreshDatabase, evolve: Evolve): Promise<() => Promise<void>> {
  await createItems(db.knex, 20)
  const [end] = await (await evolve.run()).done
  assert.equal(end?.state, 'failed')
  const before = { run: await runRow(db.knex, NAME), failures: await failureRows(db.knex, NAME), rows: await rowsOf(db.knex, 'items') }
  assert.deepEqual(
    before.failures.map((f) => f.key),
    POISON,
  )
  return async () => {
    assert.deepEqual(await runRow(db.knex, NAME), before.run, 'the run is as it was')
    assert.deepEqual(await failureRows(db.knex, NAME), before.failures, 'the failed objects are as they were')
    assert.deepEqual(await rowsOf(db.knex, 'items'), before.rows, 'the data is unchanged')
  }
}

// [what, options, the message]
const RUN_CASES: [string, Record<string, unknown>, RegExp][] = [
  ['a batch size of 0', { batchSize: 0 }, /^run option "batchSize" must be a positive integer \(found 0\)$/],
  ['a negative batch size', { batchSize: -5 }, /^run option "batchSize" must be a positive integer \(found -5\)$/],
  ['a fractional batch size', { batchSize: 2.5 }, /^run option "batchSize" must be a positive integer \(found 2\.5\)$/],
  ['a rows-per-second limit of 0', { maxRowsPerSecond: 0 }, /^run option "maxRowsPerSecond" must be a positive integer \(found 0\)$/],
  ['no workers', { workers: 0 }, /^run option "workers" must be a positive integer \(found 0\)$/],
  ['a negative number of workers', { workers: -1 }, /^run option "workers" must be a positive integer \(found -1\)$/],
  ['a mode that does not exist', { mode: 'bogus' }, /^run option "mode" must be 'online' \(the default\) or 'snapshot' \(found "bogus"\)$/],
  ['a misspelt option', { batchsize: 7 }, /^unknown run option "batchsize": did you mean "batchSize"\? \(allowed: .*workers/],
  [
    'a minBatchSize above maxBatchSize',
    { minBatchSize: 500, maxBatchSize: 10 },
    /^minBatchSize \(500\) is above maxBatchSize \(10\): lower one of them$/,
  ],
  [
    'a target batch duration that is not a number',
    { targetBatchMs: NaN },
    /^run option "targetBatchMs" must be a positive number .*\(found NaN\)$/,
  ],
  ['a throttle that is not a function', { throttle: true }, /^run option "throttle" must be a function \(found true\)$/],
]

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    for (const [what, options, message] of RUN_CASES) {
      it(`${what} given to run() is a usage error naming the option, and no run starts`, () =>
        withDb(d, async (db) => {
          const unchanged = await untouched(db)
          const evolve = await openEvolve({ knex: db.knex, migrations: [bump()] })
          await assertRefused(evolve.run([], options), 'E_CONFIG', message)
          await unchanged()
        }))
    }

    it('migration names given as a string to run() or plan() are a usage error, and progress() of an unknown name says which it likely meant', () =>
      withDb(d, async (db) => {
        const unchanged = await untouched(db)
        const evolve = await openEvolve({ knex: db.knex, migrations: [bump()] })
        const names =
          /^migration names must be an array of strings, e\.g\. run\(\['20260101000000_lowercase-emails'\]\) \(found "001_bump"\)$/
        await assertRefused(evolve.run(NAME as never), 'E_CONFIG', names)
        await assertRefused(evolve.plan(NAME as never), 'E_CONFIG', names)
        await assertRefused(
          evolve.progress('001_bmup'),
          'E_UNKNOWN_MIGRATION',
          /^no migration named "001_bmup" .*did you mean "001_bump"\?/,
        )
        assert.equal((await evolve.progress(NAME)).state, 'pending', 'a known migration that has not run is pending')
        await unchanged()
      }))

    it('bad options given to retry() are usage errors, and the failed run, its failures and the data stay as they were', () =>
      withDb(d, async (db) => {
        const evolve = await openEvolve({ knex: db.knex, migrations: [poisoned()] })
        const unchanged = await failedRun(db, evolve)
        await assertRefused(evolve.retry(NAME, { workers: 0 }), 'E_CONFIG', /^run option "workers" must be a positive integer \(found 0\)$/)
        await assertRefused(evolve.retry(NAME, { batchSize: 0 }), 'E_CONFIG', /^run option "batchSize" must be a positive integer/)
        await assertRefused(evolve.retry(NAME, { batchsize: 7 } as never), 'E_CONFIG', /^unknown run option "batchsize"/)
        await unchanged()
      }))

    it('bad options given to plan() are usage errors, not a database error or a plan of NaN batches', () =>
      withDb(d, async (db) => {
        const unchanged = await untouched(db)
        const evolve = await openEvolve({ knex: db.knex, migrations: [bump()] })
        await assertRefused(
          evolve.plan([], { batchSize: 0 }),
          'E_CONFIG',
          /^plan option "batchSize" must be a positive integer \(found 0\)$/,
        )
        await assertRefused(
          evolve.plan([], { batchSize: NaN }),
          'E_CONFIG',
          /^plan option "batchSize" must be a positive integer \(found NaN\)$/,
        )
        await assertRefused(evolve.plan([], { mode: 'bogus' as never }), 'E_CONFIG', /^plan option "mode" must be 'online'/)
        await assertRefused(
          evolve.plan([], { batchsize: 5 } as never),
          'E_CONFIG',
          /^unknown plan option "batchsize": did you mean "batchSize"\?/,
        )
        const [plan] = await evolve.plan([], { batchSize: 5 })
        assert.equal(plan?.batches, 4, 'a good batch size still plans')
        await unchanged()
      }))

    it('openEvolve refuses bad or unknown run options given with a knex, before any run could use them', () =>
      withDb(d, async (db) => {
        const unchanged = await untouched(db)
        const migrations = [bump()]
        await assertRefused(
          openEvolve({ knex: db.knex, migrations, run: { batchSize: 0 } }),
          'E_CONFIG',
          /^openEvolve: run option "batchSize" must be a positive integer \(found 0\)$/,
        )
        await assertRefused(
          openEvolve({ knex: db.knex, migrations, run: { maxRowsPerSecond: -1 } }),
          'E_CONFIG',
          /^openEvolve: run option "maxRowsPerSecond" must be a positive integer \(found -1\)$/,
        )
        await assertRefused(
          openEvolve({ knex: db.knex, migrations, run: { batchsize: 7 } as never }),
          'E_CONFIG',
          /^openEvolve: unknown run option "batchsize": did you mean "batchSize"\?/,
        )
        await assertRefused(
          openEvolve({ knex: db.knex, migrations, run: { workers: 2 } as never }),
          'E_CONFIG',
          /^openEvolve: "workers" is not a run option but a choice of each run: pass it to run\(\)/,
        )
        await unchanged()
      }))

    it('openEvolve by URL refuses migrations, run options and an undefined knex, naming what to do instead, and opens nothing', () =>
      withDb(d, async (db) => {
        const unchanged = await untouched(db)
        // Bypassing the types, as JavaScript callers and non-literal objects do.
        const open = openEvolve as (o: object) => ReturnType<typeof openEvolve>
        const byUrl = { db: db.url, cwd: await tempDir(), env: {} }
        await assertRefused(
          open({ ...byUrl, migrations: [bump()] }),
          'E_CONFIG',
          /^openEvolve: "migrations" needs "knex" \(without one it would be ignored\): pass a migrations directory as "dir", or open with your knex/,
        )
        await assertRefused(
          open({ ...byUrl, run: { batchSize: 100 } }),
          'E_CONFIG',
          /^openEvolve: "run" needs "knex" \(without one it would be ignored\): put run options in the config file .*or pass them to run\(\)/,
        )
        await assertRefused(open({ knex: undefined, ...byUrl }), 'E_CONFIG', /^openEvolve: "knex" is undefined: pass your knex instance/)
        await assertRefused(open({ knex: db.knex, migration: [bump()] }), 'E_CONFIG', /^openEvolve: unknown option "migration" \(allowed: /)
        // Left undefined, they are no mistake.
        const evolve = await open({ ...byUrl, migrations: undefined, run: undefined })
        await evolve.close()
        await unchanged()
      }))

    it('openEvolve refuses two migrations of one name and a migration without a name, before any could run', () =>
      withDb(d, async (db) => {
        const unchanged = await untouched(db)
        await assertRefused(
          openEvolve({ knex: db.knex, migrations: [bump(), bump('002_other'), bump()] }),
          'E_DUPLICATE_MIGRATION',
          /^openEvolve: migrations\[2\]: migration "001_bump" is also defined by migrations\[0\]; rename one$/,
        )
        await assertRefused(
          openEvolve({ knex: db.knex, migrations: [bump(''), bump()] }),
          'E_MIGRATION_INVALID',
          /^openEvolve: migrations\[0\] has no name: build it with createMigration\('<name>'/,
        )
        await unchanged()
      }))

    it('failures() refuses a limit that is not a positive integer and an after that is not a key, and still pages with good ones', () =>
      withDb(d, async (db) => {
        const evolve = await openEvolve({ knex: db.knex, migrations: [poisoned()] })
        const unchanged = await failedRun(db, evolve)
        const limit = /^failures option "limit" must be a positive integer \(found (0|-1|"abc"|NaN|2\.5)\)$/
        for (const bad of [0, -1, 'abc', NaN, 2.5]) await assertRefused(evolve.failures(NAME, { limit: bad as number }), 'E_CONFIG', limit)
        const key =
          /^failures option "after" must be a key: a number, a string, a bigint, bytes, or an array of them .*\(found (an object|null|true|an array of 0)\)$/
        for (const bad of [{ a: 1 }, null, true, []]) await assertRefused(evolve.failures(NAME, { after: bad }), 'E_CONFIG', key)
        await assertRefused(
          evolve.failures(NAME, { limt: 1 } as never),
          'E_CONFIG',
          /^unknown failures option "limt": did you mean "limit"\? \(allowed: limit, after\)$/,
        )
        const first = await evolve.failures(NAME, { limit: 1 })
        assert.deepEqual(
          first.map((f) => f.key),
          [3],
        )
        const next = await evolve.failures(NAME, { limit: 1, after: first[0]!.key })
        assert.deepEqual(
          next.map((f) => f.key),
          [7],
        )
        await unchanged()
      }))
  })
}
