// PostgreSQL's transform write-back sends values as typed arrays (unnest) and falls back to
// jsonb_populate_recordset for columns no typed array carries (array columns): every type must
// land as the transform returned it, on both paths, and `plan` must print the statement that runs.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import type { RowChange } from '../lib/dialects/dialect.ts'
import { postgresDialect } from '../lib/dialects/postgres/index.ts'
import { withDb } from './helpers/databases.ts'

// A non-whole-hour offset: a Date written as UTC instead of local time shows up shifted.
process.env.TZ = 'Asia/Kolkata'

const DDL = `CREATE TABLE vals (
  id integer PRIMARY KEY, t text, vc varchar(5), c char(3), i integer, big bigint, n numeric, b boolean, u uuid,
  bin bytea, j jsonb, tz timestamptz, ts timestamp, d date, tags text[])`

const OLD = {
  t: 'old',
  vc: 'old',
  c: 'old',
  i: 1,
  big: '1',
  n: '1',
  b: false,
  u: '00000000-0000-0000-0000-000000000000',
  bin: Buffer.from('old'),
  j: { old: true },
  tz: new Date(0),
  ts: '2000-01-01 00:00:00',
  d: '2000-01-01',
  tags: ['old'],
}

const text = 'O\'Brien said "hi" \\ back-slash, {brace}, comma; ü 日本語 🎉'
/** Row 1 and 2: every scalar type (the typed path); row 3: NULLs; row 4: an array column (the jsonb path). */
/** Every typed column set to NULL (row 3). */
const NULLS = { t: null, vc: null, c: null, i: null, big: null, n: null, b: null, u: null, bin: null, j: null, tz: null, ts: null, d: null }

const CHANGES: RowChange[] = [
  {
    key: 1,
    changes: {
      t: text,
      vc: 'abc',
      c: 'ab',
      i: -42,
      big: '9007199254740993',
      n: '12345678901234567890.123456789012345',
      b: true,
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      bin: Buffer.from([0, 1, 92, 34, 123, 44, 255]),
      j: { a: [1, 'two', null], q: 'it\'s "x"' },
      tz: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
      ts: new Date(Date.UTC(2023, 6, 14, 22, 30, 0)),
      d: new Date(2024, 1, 29),
    },
  },
  {
    key: 2,
    changes: {
      t: 'NULL',
      vc: '',
      c: 'xyz',
      i: 2147483647,
      big: 9007199254740995n,
      n: 0.5,
      b: false,
      u: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12',
      bin: Buffer.alloc(0),
      j: [1, { x: 'NULL' }],
      tz: new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 1)),
      ts: '2024-03-01 12:00:00.123456',
      d: '2024-03-01',
    },
  },
  { key: 3, changes: NULLS },
  { key: 4, changes: { t: 'with tags', tags: ['a', 'b,c', 'd"e', 'NULL', null] } },
]

/** What each row reads back as, in forms that show a wrong write (text casts, hex, epoch milliseconds). */
const EXPECTED: Record<number, Record<string, unknown>> = {
  1: {
    t: text,
    vc: 'abc',
    c: 'ab',
    i: '-42',
    big: '9007199254740993',
    n: '12345678901234567890.123456789012345',
    b: 'true',
    u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    bin: '00015c227b2cff',
    j: { a: [1, 'two', null], q: 'it\'s "x"' },
    tz: String(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
    ts: '2023-07-15 04:00:00',
    d: '2024-02-29',
    tags: ['old'],
  },
  2: {
    t: 'NULL',
    vc: '',
    c: 'xyz',
    i: '2147483647',
    big: '9007199254740995',
    n: '0.5',
    b: 'false',
    u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12',
    bin: '',
    j: [1, { x: 'NULL' }],
    tz: String(Date.UTC(1999, 11, 31, 23, 59, 59, 1)),
    ts: '2024-03-01 12:00:00.123456',
    d: '2024-03-01',
    tags: ['old'],
  },
  3: { ...NULLS, tags: ['old'] },
  4: { t: 'with tags', tags: ['a', 'b,c', 'd"e', 'NULL', null] },
}

async function readBack(knex: Knex): Promise<Map<number, Record<string, unknown>>> {
  const { rows } = await knex.raw(`SELECT id, t, vc, c::text AS c, i::text AS i, big::text AS big, n::text AS n, b::text AS b, u::text AS u,
      encode(bin, 'hex') AS bin, j, (extract(epoch FROM tz) * 1000)::bigint::text AS tz, ts::text AS ts, d::text AS d, tags
    FROM vals ORDER BY id`)
  return new Map((rows as Record<string, unknown>[]).map(({ id, ...row }) => [id as number, row]))
}

async function writeBack(knex: Knex, changes: RowChange[]): Promise<string[]> {
  const statements: string[] = []
  const listen = (q: { sql: string }) => void (q.sql.startsWith('UPDATE') && statements.push(q.sql))
  knex.on('query', listen)
  try {
    await knex.transaction((trx) => postgresDialect.writeBack(trx, 'vals', 'id', changes))
  } finally {
    knex.off('query', listen)
  }
  return statements
}

describe('PostgreSQL transform write-back', () => {
  it('writes every column type as the transform returned it, NULLs included, on the typed and the jsonb path', () =>
    withDb('postgres', async (db) => {
      await db.knex.raw(DDL)
      for (let id = 1; id <= 4; id++) await db.knex('vals').insert({ id, ...OLD, j: JSON.stringify(OLD.j), tags: ['old'] })
      // Rows 1–3 change the same columns (one typed statement), row 4 its own pair (an array column: jsonb).
      const statements = await writeBack(db.knex, CHANGES)
      assert.equal(statements.length, 2)
      assert.match(statements[0]!, /FROM unnest\(\$1::integer\[\], \$2::boolean\[\], \$3::bigint\[\], \$4::bytea\[\], \$5::bpchar\[\]/)
      assert.match(statements[1]!, /jsonb_populate_recordset/)
      const rows = await readBack(db.knex)
      for (const [id, expected] of Object.entries(EXPECTED)) {
        const actual = rows.get(Number(id))!
        assert.deepEqual(pick(actual, Object.keys(expected)), expected, `row ${id}`)
      }
      assert.equal(rows.get(4)!.i, '1', 'row 4: columns it did not change keep their value')
    }))

  it('plan prints the statement the write-back runs', () =>
    withDb('postgres', async (db) => {
      await db.knex.raw(DDL)
      await db.knex('vals').insert({ id: 1 })
      const [statement] = await writeBack(db.knex, [{ key: 1, changes: { n: '2.5' } }])
      const template = postgresDialect.writeBackTemplate('vals', 'id', ['n']).split('\n')[0]!
      assert.equal(template.replace('<type of "id">', 'integer').replace('<type of "n">', 'numeric'), statement)
    }))
})

const pick = (row: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, row[k]]))
