// A transform may hand back its row with the key in it; it may not change the key (lib/core/keys.ts withoutKey).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseMigration } from '../lib/config/migration-schema.ts'
import { Runner, defineMigration } from '../lib/index.ts'
import { dialects, runnerKnex, withDb } from './helpers/databases.ts'
import { TABLE, createItems, failureRows } from './helpers/fixtures.ts'

describe('a transform and its key', () => {
  for (const dialect of dialects) {
    it(`on ${dialect}: evolves rows returned whole, key included, and records a row whose key it changed as failed`, () =>
      withDb(dialect, async (db) => {
        await createItems(db.knex, 10)
        const definition = defineMigration({
          table: TABLE,
          pending: (q) => q.where('counter', 0),
          transform: (row) => ({ ...row, id: row.id === 4 ? 9 : row.id, counter: 1 }),
        })
        const conn = runnerKnex(db)
        try {
          const [result] = await new Runner({ knex: conn, migrations: [parseMigration('keys', 'test:keys', definition)] }).run()
          assert.equal(result?.state, 'failed')
        } finally {
          await conn.destroy()
        }
        const counters = Object.fromEntries((await db.knex(TABLE).orderBy('id')).map((r) => [r.id, Number(r.counter)]))
        assert.deepEqual(
          counters,
          { 1: 1, 2: 1, 3: 1, 4: 0, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1 },
          'row 9 got its own change only; row 4 none',
        )
        const failures = await failureRows(db.knex, 'keys')
        assert.deepEqual(
          failures.map((f) => f.key),
          [4],
        )
        assert.match(failures[0]!.error, /transform changed key column "id" of row "4": a transform must leave the key as it is/)
      }))
  }
})
