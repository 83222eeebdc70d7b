// A transform that returns the row it was given (`{ ...row, email }`, or the row changed in place)
// hands back values that do not survive JavaScript: timestamps read as Dates (milliseconds only,
// a zone-less one in the process's zone), intervals read as objects, SQLite integers beyond 2^53
// read rounded. Returned as read, they must be left as they are; copied elsewhere, an interval
// must land as the same interval.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type AnyRow, type MigrationDefinition, defineMigration } from '../lib/index.ts'
import { type FreshDatabase, runDefinition, withDb } from './helpers/databases.ts'

// A zone with a spring-forward gap: 2024-03-10 02:30 does not exist in it, so a zone-less
// timestamp at that time cannot be a Date in this process and back.
process.env.TZ = 'America/New_York'

const run = async (db: FreshDatabase, name: string, definition: MigrationDefinition) => (await runDefinition(db, name, definition))?.state

const spread = (row: AnyRow) => ({ ...row, email: String(row.email).toLowerCase() })
const inPlace = (row: AnyRow) => {
  row.email = String(row.email).toLowerCase()
  return row
}

describe('a transform returning the row it was given', () => {
  for (const [style, transform] of [
    ['{ ...row, email }', spread],
    ['the row changed in place', inPlace],
  ] as const) {
    it(`on postgres, as ${style}: leaves intervals and timestamps (microseconds, zone-less in a DST gap) as they were`, () =>
      withDb('postgres', async (db) => {
        await db.knex.raw(`CREATE TABLE rt (id integer PRIMARY KEY, email text, iv interval, iv2 interval, tz timestamptz, ts timestamp)`)
        await db.knex.raw(`INSERT INTO rt VALUES
          (1, 'A@X', '1 day 2 hours', NULL, '2024-05-01 10:00:00.123456+00', '2024-03-10 02:30:00.654321'),
          (2, 'B@X', '3 months', NULL, '2024-05-01 10:00:00+00', '2024-01-01 00:00:00.000001'),
          (3, 'C@X', '90 minutes', NULL, NULL, NULL)`)
        const before = await db.knex.raw(`SELECT id, iv::text, tz::text, ts::text FROM rt ORDER BY id`)
        const state = await run(db, 'lower_emails', defineMigration({ table: 'rt', transform }))
        assert.equal(state, 'done')
        const after = await db.knex.raw(`SELECT id, iv::text, tz::text, ts::text FROM rt ORDER BY id`)
        assert.deepEqual(after.rows, before.rows)
        const emails = await db.knex('rt').orderBy('id').pluck('email')
        assert.deepEqual(emails, ['a@x', 'b@x', 'c@x'])
      }))

    it(`on sqlite, as ${style}: leaves integers beyond 2^53 as they were`, () =>
      withDb('sqlite', async (db) => {
        await db.knex.raw('CREATE TABLE rt (id integer PRIMARY KEY, email text, big integer)')
        await db.knex.raw(`INSERT INTO rt VALUES (1, 'A@X', 9007199254740993), (2, 'B@X', 1234567890123456789), (3, 'C@X', 7)`)
        const state = await run(db, 'lower_emails', defineMigration({ table: 'rt', transform }))
        assert.equal(state, 'done')
        const rows = await db.knex.raw(`SELECT email, CAST(big AS TEXT) AS big FROM rt ORDER BY id`)
        assert.deepEqual(rows, [
          { email: 'a@x', big: '9007199254740993' },
          { email: 'b@x', big: '1234567890123456789' },
          { email: 'c@x', big: '7' },
        ])
      }))
  }

  it('on postgres: an interval copied to another column lands as the same interval, a changed Date as the new time', () =>
    withDb('postgres', async (db) => {
      await db.knex.raw(`CREATE TABLE rt (id integer PRIMARY KEY, iv interval, iv2 interval, tz timestamptz)`)
      await db.knex.raw(
        `INSERT INTO rt VALUES (1, '1 day 2 hours', NULL, '2024-05-01 10:00:00.123456+00'), (2, '3 mons 00:00:01.5', NULL, NULL)`,
      )
      const state = await run(
        db,
        'copy_intervals',
        defineMigration({
          table: 'rt',
          transform: (row) => ({ ...row, iv2: row.iv, tz: row.tz ? new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)) : null }),
        }),
      )
      assert.equal(state, 'done')
      const rows = await db.knex.raw(`SELECT iv2 = iv AS same, iv2::text, tz = '2025-01-02 03:04:05.006+00' AS moved FROM rt ORDER BY id`)
      assert.deepEqual(
        rows.rows.map((r: AnyRow) => [r.same, r.moved]),
        [
          [true, true],
          [true, null],
        ],
        JSON.stringify(rows.rows),
      )
    }))
})
