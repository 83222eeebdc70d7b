// Failures are listed and paged in the keys' own order: keys are stored as JSON text, whose
// order puts 105 before 14, so the order must come from the decoded keys, and `after` must
// neither skip nor repeat a key.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createMigration, defineMigration, openEvolve } from '../lib/index.ts'
import { compareKeys } from '../lib/store/compare-keys.ts'
import { dialects, withDb } from './helpers/databases.ts'
import { createUsers } from './helpers/fixtures.ts'

const NAME = '20260101000000_sevens'
const ROWS = 200
const FAILED = Array.from({ length: ROWS / 7 }, (_, i) => (i + 1) * 7) // 7, 14, …, 196

const sorted = (keys: unknown[]) => [...keys].sort(compareKeys)

describe('compareKeys', () => {
  it('orders text and uuid keys by code unit, the empty string first', () => {
    assert.deepEqual(sorted(['b', 'ab', 'B', '', 'a', 'a b']), ['', 'B', 'a', 'a b', 'ab', 'b'])
    const [u1, u2, u3] = [
      '0a2b0000-0000-4000-8000-000000000009',
      '6f1c0000-0000-4000-8000-000000000001',
      'f0000000-0000-4000-8000-000000000000',
    ]
    assert.deepEqual(sorted([u2, u3, u1]), [u1, u2, u3])
  })

  it('orders composite keys element by element, each element by its own type', () => {
    assert.deepEqual(
      sorted([
        [2, 'b'],
        [10, 'a'],
        [2, 'a'],
        [1, 'z'],
        [2, 'a', 0],
      ]),
      [
        [1, 'z'],
        [2, 'a'],
        [2, 'a', 0],
        [2, 'b'],
        [10, 'a'],
      ],
    )
  })

  it('orders bigints and the decimal strings PostgreSQL returns for bigint and numeric exactly, beyond a double', () => {
    assert.deepEqual(sorted(['10', '9007199254740993', '-3', '9', '9007199254740992']), [
      '-3',
      '9',
      '10',
      '9007199254740992',
      '9007199254740993',
    ])
    assert.deepEqual(sorted([2n ** 64n, 14n, -(2n ** 64n), 7n]), [-(2n ** 64n), 7n, 14n, 2n ** 64n])
    assert.ok(compareKeys('1.00100000000000000000001', '1.001') > 0)
    assert.ok(compareKeys('-1.5', '-1.25') < 0)
    assert.ok(compareKeys(1e21, '999999999999999999999') > 0)
    assert.ok(compareKeys(5e-7, '0.000001') < 0)
  })

  it('treats a number, a bigint and a decimal string of one value as the same key', () => {
    assert.equal(compareKeys(14, '14'), 0)
    assert.equal(compareKeys(14n, 14), 0)
    assert.equal(compareKeys('1.50', 1.5), 0)
    assert.ok(compareKeys('14', 7) > 0)
    // Text that only looks like a number stays distinct.
    assert.notEqual(compareKeys('007', '7'), 0)
  })

  it('orders bytes byte by byte, a shorter prefix first', () => {
    const keys = [Buffer.from([2]), Buffer.from([1, 10]), Buffer.from([1, 2]), Buffer.from([1])]
    assert.deepEqual(sorted(keys), [Buffer.from([1]), Buffer.from([1, 2]), Buffer.from([1, 10]), Buffer.from([2])])
  })
})

for (const d of dialects) {
  describe(d, () => {
    it('failures of integer keys are listed in numeric order and paged by `after` without skipping or repeating', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: ROWS })
        const migration = defineMigration({
          table: 'users',
          batchSize: 50,
          maxFailures: 100,
          transform: (row) => {
            if (Number(row.id) % 7 === 0) throw new Error(`cannot evolve user ${row.id}`)
            return { counter: Number(row.counter) + 1 }
          },
        })
        const evolve = await openEvolve({ knex: db.knex, migrations: [createMigration(NAME, migration)] })
        try {
          const [result] = await (await evolve.run([NAME])).done
          assert.equal(result!.state, 'failed')

          const all = await evolve.failures(NAME)
          assert.deepEqual(
            all.map((f) => f.key),
            FAILED,
          )
          const page = await evolve.failures(NAME, { limit: 5, after: 7 })
          assert.deepEqual(
            page.map((f) => f.key),
            [14, 21, 28, 35, 42],
          )
          // `after` need not be a failed key itself.
          assert.deepEqual(
            (await evolve.failures(NAME, { limit: 2, after: 100 })).map((f) => f.key),
            [105, 112],
          )

          const walked: unknown[] = []
          let after: unknown
          for (;;) {
            const next = await evolve.failures(NAME, { limit: 5, after })
            if (next.length === 0) break
            walked.push(...next.map((f) => f.key))
            after = next.at(-1)!.key
          }
          assert.deepEqual(walked, FAILED)
        } finally {
          await evolve.close()
        }
      }))
  })
}
