// Generated columns in snapshot mode: the copy's database computes them from the other columns,
// so a migration that changes `n` changes every column generated from `n` as well. Verify
// compares only the columns the copy wrote, and the run swaps in (it used to fail at verify:
// `column "doubled" differs in the copy although the migration does not change it`).
// And a run that fails at verify says so in its status: the step it stopped at, not preflight.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { openEvolve } from '../lib/index.ts'
import { dialects, runnerKnex, withDb, type FreshDatabase } from './helpers/databases.ts'
import { insertChunked, migrationSource, tableNames, writeFiles } from './helpers/fixtures.ts'

const ROWS = 200
const NAME = '001_bump'

/** counters: n, and columns generated from it (PostgreSQL: STORED; SQLite: VIRTUAL and STORED, STRICT WITHOUT ROWID). */
async function createCounters(db: FreshDatabase): Promise<void> {
  if (db.dialect === 'postgres')
    await db.knex.raw('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL, doubled int GENERATED ALWAYS AS (n * 2) STORED)')
  else
    await db.knex.raw(
      `CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL,
         "full" TEXT GENERATED ALWAYS AS (id || ':' || n) VIRTUAL, doubled INTEGER GENERATED ALWAYS AS (n * 2) STORED) STRICT, WITHOUT ROWID`,
    )
  await insertChunked(
    db.knex,
    'counters',
    Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, n: i + 1 })),
  )
}

const bump = (extra = '') => migrationSource(`{ mode: 'snapshot', table: 'counters', set: { n: (k) => k.raw('n + 1') }, ${extra} }`)

async function runOnce(db: FreshDatabase, source: string) {
  const dir = await writeFiles({ [`${NAME}.ts`]: source })
  const knex = runnerKnex(db)
  const evolve = await openEvolve({ knex, migrations: dir })
  try {
    const [result] = await (await evolve.run()).done
    return result!
  } finally {
    await evolve.close()
    await knex.destroy()
  }
}

for (const d of dialects) {
  describe(`snapshot mode with generated columns on ${d}`, () => {
    it('swaps in a copy whose generated columns follow the changed column', () =>
      withDb(d, async (db) => {
        await createCounters(db)
        const result = await runOnce(db, bump())
        assert.equal(result.state, 'done', JSON.stringify(result))
        const rows = await db.knex('counters').select('*').orderBy('id')
        assert.equal(rows.length, ROWS)
        for (const r of rows) {
          assert.equal(Number(r.n), Number(r.id) + 1)
          assert.equal(Number(r.doubled), 2 * (Number(r.id) + 1))
          if (d === 'sqlite') assert.equal(r.full, `${r.id}:${Number(r.id) + 1}`)
        }
      }))

    it('a run stopped at verify reports verify as its step, not preflight', () =>
      withDb(d, async (db) => {
        await createCounters(db)
        const result = await runOnce(db, bump('verify: async () => false,'))
        assert.equal(result.state, 'failed')
        assert.match(result.lastError ?? '', /verify\(\) returned false/)
        assert.equal(result.snapshot?.step, 'verify')
        assert.equal(result.snapshot?.stepNumber, 6)
        assert.deepEqual(await tableNames(db), ['counters'], 'the copy is dropped')
        // The next run starts over from a fresh copy all the same.
        assert.equal((await runOnce(db, bump())).state, 'done')
      }))
  })
}
