// SQLite lets a NULL into a primary key that is not INTEGER. Validation refuses such a key only
// when a NULL is there already; one written during the run sits outside every batch range. The
// run must not end done over it (without `pending`), nor blame old app instances (with it).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseMigration } from '../lib/config/migration-schema.ts'
import { Runner, defineMigration } from '../lib/index.ts'
import { runnerKnex, withDb } from './helpers/databases.ts'

describe('a NULL key written during a run, on sqlite', () => {
  for (const withPending of [false, true]) {
    it(`fails the run${withPending ? ' (with pending)' : ''} naming the NULL key and the fix, and the rerun finishes once it has a key`, () =>
      withDb('sqlite', async (db) => {
        await db.knex.raw('CREATE TABLE s_null (id text PRIMARY KEY, v text NOT NULL)')
        await db.knex('s_null').insert([
          { id: 'a', v: 'x' },
          { id: 'b', v: 'x' },
          { id: 'c', v: 'x' },
        ])
        let inserted = false
        const migration = parseMigration('upper_v', 'test:upper_v', {
          ...defineMigration({
            table: 's_null',
            batchSize: 1,
            up: async (rows, { trx }) => {
              // The app's write, as if it came in the middle of the run.
              if (!inserted) await trx('s_null').insert({ id: null, v: 'late' })
              inserted = true
              await trx('s_null')
                .whereIn(
                  'id',
                  rows.map((r) => r.id as string),
                )
                .update({ v: trx.raw('upper(v)') })
            },
          }),
          ...(withPending ? { pending: (q: import('knex').Knex.QueryBuilder) => q.whereRaw('v <> upper(v)') } : {}),
        })
        const conn = runnerKnex(db)
        try {
          const [first] = await new Runner({ knex: conn, migrations: [migration] }).run()
          assert.equal(first?.state, 'failed')
          assert.match(
            String(first?.lastError),
            withPending
              ? /^1 row has a NULL id \(written during the run\): no batch holds them, so they were not evolved; give them a key .*then `evolve run upper_v` sweeps them$/
              : /^1 row has a NULL id \(written during the run\): no batch holds them, .*: `evolve run upper_v` evolves those whose key sorts after the last it evolved; any other, evolve yourself/,
          )
          await db.knex('s_null').whereNull('id').update({ id: 'd' })
          const [second] = await new Runner({ knex: conn, migrations: [migration] }).run()
          assert.equal(second?.state, 'done', String(second?.lastError))
        } finally {
          await conn.destroy()
        }
        const rows = await db.knex('s_null').orderBy('id').select('id', 'v')
        assert.deepEqual(
          rows.map((r) => r.id),
          ['a', 'b', 'c', 'd'],
        )
        // Each row evolved once, the late one by the rerun ('d' sorts after 'c', where the scan ended).
        assert.deepEqual(
          rows.map((r) => r.v),
          ['X', 'X', 'X', 'LATE'],
        )
      }))
  }
})
