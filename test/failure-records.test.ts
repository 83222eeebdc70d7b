// What a failed object's record says, and how many a run records: the database's own words (its
// DETAIL naming the colliding key) without evolvekit's SQL, and never more than maxFailures.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AnyRow, MigrationDefinition } from '../lib/index.ts'
import { dialects, runDefinition, withDb } from './helpers/databases.ts'
import { failureRows, insertChunked } from './helpers/fixtures.ts'

describe('failure records', () => {
  it('on postgres: a unique collision on the write-back is recorded with the key PostgreSQL names in its DETAIL, without the SQL', () =>
    withDb('postgres', async (db) => {
      await db.knex.raw('CREATE TABLE orders (id integer PRIMARY KEY, code text NOT NULL, slot integer NOT NULL, UNIQUE (code, slot))')
      await insertChunked(db.knex, 'orders', [
        { id: 1, code: 'C1', slot: 1 },
        { id: 2, code: 'C2', slot: 1 },
        { id: 3, code: 'C2-v2', slot: 1 },
      ])
      const result = await runDefinition(db, 'codes', {
        table: 'orders',
        transform: (row) => (row.id === 2 ? { code: 'C2-v2' } : { code: `${String(row.code)}-x` }),
      })
      assert.equal(result?.state, 'failed')
      const failures = await failureRows(db.knex, 'codes')
      assert.equal(failures.length, 1)
      assert.equal(Number(failures[0]!.key), 2)
      assert.match(
        failures[0]!.error,
        /^duplicate key value violates unique constraint "orders_code_slot_key": Key \(code, slot\)=\(C2-v2, 1\) already exists\.$/,
      )
      assert.doesNotMatch(failures[0]!.error, /UPDATE|unnest/)
    }))

  it('on postgres: a set migration colliding on a unique constraint is recorded with the key PostgreSQL names in its DETAIL', () =>
    withDb('postgres', async (db) => {
      await db.knex.raw('CREATE TABLE accounts (id integer PRIMARY KEY, email text NOT NULL UNIQUE)')
      await insertChunked(db.knex, 'accounts', [
        { id: 1, email: 'Ann@x.io' },
        { id: 2, email: 'ann@x.io' },
        { id: 3, email: 'Bob@x.io' },
      ])
      const result = await runDefinition(db, 'lower', {
        table: 'accounts',
        pending: (q) => q.whereRaw('email <> lower(email)'),
        set: { email: (k) => k.raw('lower(email)') },
      })
      assert.equal(result?.state, 'failed')
      const failures = await failureRows(db.knex, 'lower')
      assert.deepEqual(
        failures.map((f) => Number(f.key)),
        [1],
      )
      assert.match(
        failures[0]!.error,
        /duplicate key value violates unique constraint "accounts_email_key": Key \(email\)=\(ann@x\.io\) already exists\.$/,
      )
    }))

  for (const dialect of dialects) {
    for (const [how, definition] of [
      ['whose transform throws', { transform: (row: AnyRow) => (Number(row.id) % 2 === 0 ? boom(row.id) : { n: 1 }) }],
      ['that the database refuses', { transform: (row: AnyRow) => ({ n: Number(row.id) % 2 === 0 ? -1 : 1 }) }],
    ] as const) {
      it(`on ${dialect}: a run resumed at maxFailures stops at its next row ${how} without recording it`, () =>
        withDb(dialect, async (db) => {
          await db.knex.raw('CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL CHECK (n >= 0))')
          await insertChunked(
            db.knex,
            'items',
            Array.from({ length: 12 }, (_, i) => ({ id: i + 1, n: 0 })),
          )
          const m = { table: 'items', batchSize: 3, maxFailures: 2, ...definition } as MigrationDefinition
          const first = await runDefinition(db, 'capped', m)
          assert.equal(first?.state, 'failed')
          assert.match(String(first?.lastError), /^stopped after 2 failed objects \(maxFailures 2\)/)
          const keys = async () => (await failureRows(db.knex, 'capped')).map((f) => Number(f.key)).sort((a, b) => a - b)
          const recorded = await keys()
          assert.equal(recorded.length, 2)
          // Resumed with the migration still broken: the next failing row stops it again, unrecorded.
          const resumed = await runDefinition(db, 'capped', m)
          assert.equal(resumed?.state, 'failed')
          assert.match(String(resumed?.lastError), /^stopped after 2 failed objects \(maxFailures 2\)/)
          assert.deepEqual(await keys(), recorded)
          // The batch it stopped in went back pending for the run after a fix: no one's claim.
          const claimed = await db.knex('evolve_batches').where({ run_name: 'capped', state: 'claimed' }).count({ n: '*' }).first()
          assert.equal(Number(claimed?.n), 0)
        }))
    }
  }
})

function boom(id: unknown): never {
  throw new Error(`cannot evolve row ${String(id)}`)
}
