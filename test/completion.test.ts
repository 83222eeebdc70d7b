// isDone / assertDone: the guard a later schema change puts in front of itself. The CLI
// runs the migration; the library, on its own connection, answers whether it is done.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EvolveNotDoneError, assertDone, isDone } from '../lib/index.ts'
import { output, runCli } from './helpers/cli.ts'
import { dialects, withDb } from './helpers/databases.ts'
import { createUsers, migrationSource, trackingTables, writeFiles } from './helpers/fixtures.ts'

const LOWER = `{
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)'),
  transform: (row) => ({ email: row.email.toLowerCase() }),
}`

/** assertDone rejects with EvolveNotDoneError, code E_NOT_DONE, naming the migration (and `also`). */
async function assertNotDone(promise: Promise<void>, name: string, also?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof EvolveNotDoneError, `an EvolveNotDoneError, got ${String(err)}`)
    assert.equal(err.code, 'E_NOT_DONE')
    assert.ok(err.message.includes(name), `the message names ${name}: ${err.message}`)
    if (also) assert.match(err.message, also)
    return true
  })
}

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('a migration is not done while the tracking tables do not exist, and asking creates none', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 5 })
        assert.equal(await isDone(db.knex, '001_lower'), false)
        await assertNotDone(assertDone(db.knex, '001_lower'), '001_lower')
        assert.deepEqual(await trackingTables(db), [])
      }))

    it('a migration is not done before its run, even once another migration has run', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 5 })
        const dir = await writeFiles({
          '001_lower.ts': migrationSource(LOWER),
          '002_names.ts': migrationSource(
            `{ table: 'users', pending: (q) => q.where('name', 'like', 'name %'), set: { name: (k) => k.raw("'n:' || name") } }`,
          ),
        })
        const run = await runCli(['run', '001_lower', '--db', db.url, '--dir', dir])
        assert.equal(run.code, 0, output(run))
        assert.ok((await trackingTables(db)).includes('evolve_runs'))

        assert.equal(await isDone(db.knex, '001_lower'), true)
        assert.equal(await isDone(db.knex, '002_names'), false)
        await assertNotDone(assertDone(db.knex, '002_names'), '002_names')
      }))

    it('a migration is done once the CLI run finished, and assertDone resolves', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 40 })
        const dir = await writeFiles({ '001_lower.ts': migrationSource(LOWER) })
        assert.equal(await isDone(db.knex, '001_lower'), false)
        const run = await runCli(['run', '--db', db.url, '--dir', dir])
        assert.equal(run.code, 0, output(run))
        assert.equal(await isDone(db.knex, '001_lower'), true)
        await assertDone(db.knex, '001_lower')
      }))

    it('a run that failed is not done, and assertDone says so', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 40, bad: (id) => id === 9 })
        const dir = await writeFiles({
          '001_picky.ts': migrationSource(`{
            table: 'users',
            pending: (q) => q.whereRaw('email <> lower(email)'),
            transform: (row) => {
              if (row.bad) throw new Error('bad row')
              return { email: row.email.toLowerCase() }
            },
          }`),
        })
        const run = await runCli(['run', '--db', db.url, '--dir', dir])
        assert.equal(run.code, 1, output(run))
        assert.equal(await isDone(db.knex, '001_picky'), false)
        await assertNotDone(assertDone(db.knex, '001_picky'), '001_picky', /failed/)
      }))
  })
}
