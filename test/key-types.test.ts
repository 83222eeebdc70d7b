// Every key type with an order, and composite keys, through the real CLI: batches are cut
// along the key by ORDER BY … LIMIT (no max() the type may lack), bounds are stored as JSON
// and must come back as the same value, and every row is evolved exactly once.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { output, runCli } from './helpers/cli.ts'
import { type FreshDatabase, withDb } from './helpers/databases.ts'
import { addTouchCounter, insertChunked, migrationSource, runRow, writeFiles } from './helpers/fixtures.ts'

const ROWS = 60

interface KeyCase {
  /** Column definitions of `items` (its key plus `name` and `touches`). */
  ddl: string
  key: string | string[]
  /** The key column values of row i (distinct). */
  values: (i: number) => Record<string, unknown>
}

const pad = (i: number) => String(i).padStart(3, '0')
// Mixed case, accents and punctuation: the boundary query and the ranges must agree on the collation's order.
const words = (i: number) => `${['apple', 'Banana', 'éclair', 'zeta', 'Zulu', '_under', 'a b'][i % 7]}-${pad(i)}`

const POSTGRES: Record<string, KeyCase> = {
  uuid: { ddl: 'id uuid PRIMARY KEY DEFAULT gen_random_uuid()', key: 'id', values: () => ({}) },
  text: { ddl: 'id text PRIMARY KEY', key: 'id', values: (i) => ({ id: words(i) }) },
  'bigint beyond 2^53': { ddl: 'id bigint PRIMARY KEY', key: 'id', values: (i) => ({ id: (2n ** 53n + BigInt(i) * 3n + 1n).toString() }) },
  'numeric with more digits than a double': {
    ddl: 'id numeric PRIMARY KEY',
    key: 'id',
    values: (i) => ({ id: `1.${pad(i)}00000000000000000000001` }),
  },
  bytea: { ddl: 'id bytea PRIMARY KEY', key: 'id', values: (i) => ({ id: Buffer.from([i % 5, 255 - i, i]) }) },
  'composite (integer, text)': {
    ddl: 'tenant_id integer NOT NULL, id text NOT NULL',
    key: ['tenant_id', 'id'],
    values: (i) => ({ tenant_id: i % 4, id: words(i) }),
  },
}

const SQLITE: Record<string, KeyCase> = {
  integer: { ddl: 'id INTEGER PRIMARY KEY', key: 'id', values: (i) => ({ id: i * 1000 - 20_000 }) },
  text: { ddl: 'id TEXT PRIMARY KEY NOT NULL', key: 'id', values: (i) => ({ id: words(i) }) },
  'text with NOCASE collation': { ddl: 'id TEXT COLLATE NOCASE PRIMARY KEY NOT NULL', key: 'id', values: (i) => ({ id: words(i) }) },
  blob: { ddl: 'id BLOB PRIMARY KEY NOT NULL', key: 'id', values: (i) => ({ id: Buffer.from([i % 5, 255 - i, i]) }) },
  'composite (integer, text)': {
    ddl: 'tenant_id INTEGER NOT NULL, id TEXT NOT NULL',
    key: ['tenant_id', 'id'],
    values: (i) => ({ tenant_id: i % 4, id: words(i) }),
  },
}

async function seed(db: FreshDatabase, c: KeyCase): Promise<void> {
  const primary = typeof c.key === 'string' ? '' : `, PRIMARY KEY (${c.key.join(', ')})`
  await db.knex.raw(`CREATE TABLE items (${c.ddl}, name text NOT NULL, touches integer NOT NULL DEFAULT 0${primary})`)
  // SQLite: the trigger finds the row by rowid, whatever the key is.
  await addTouchCounter(db, 'items', db.dialect === 'sqlite' ? 'rowid' : 'id')
  const rows = Array.from({ length: ROWS }, (_, i) => ({ ...c.values(i), name: `row ${i}` }))
  await insertChunked(db.knex, 'items', rows)
}

for (const [dialect, cases] of [
  ['postgres', POSTGRES],
  ['sqlite', SQLITE],
] as const) {
  describe(dialect, { concurrency: 2 }, () => {
    for (const [type, c] of Object.entries(cases)) {
      it(`a ${type} key: every row is evolved exactly once, in batches cut along the key`, () =>
        withDb(dialect, async (db) => {
          await seed(db, c)
          const dir = await writeFiles({
            '001_upper.ts': migrationSource(`{
              table: 'items',
              key: ${JSON.stringify(c.key)},
              transform: (row) => ({ name: row.name.toUpperCase() }),
            }`),
          })
          const result = await runCli(['run', '--db', db.url, '--dir', dir, '--batch-size', '7'])
          assert.equal(result.code, 0, output(result))
          assert.equal((await runRow(db.knex, '001_upper'))?.state, 'done')
          const rows = await db.knex('items').select('name', 'touches')
          assert.equal(rows.length, ROWS)
          for (const row of rows) {
            assert.equal(row.touches, 1, `${row.name} was written ${row.touches} times`)
            assert.match(row.name, /^ROW \d+$/)
          }
          const batches = await db.knex('evolve_batches').where({ run_name: '001_upper', state: 'done' }).sum({ n: 'rows' }).first()
          assert.equal(Number(batches?.n), ROWS, 'the batches together evolved each row once')
          const scan = await db.knex('evolve_batches').where({ run_name: '001_upper', phase: 'scan' }).count({ n: '*' }).first()
          assert.equal(Number(scan?.n), Math.ceil(ROWS / 7), 'each scan batch spans 7 keys in the key order')
        }))
    }

    it('failures of a bytes key are listed with the key as hex, in the table and in --json', () =>
      withDb(dialect, async (db) => {
        const bytes = dialect === 'postgres' ? POSTGRES.bytea! : SQLITE.blob!
        await seed(db, bytes)
        const dir = await writeFiles({
          '001_fail.ts': migrationSource(`{
            table: 'items',
            transform: (row) => {
              if (row.name === 'row 3') throw new Error('cannot evolve row 3')
              return { name: row.name.toUpperCase() }
            },
          }`),
        })
        assert.equal((await runCli(['run', '--db', db.url, '--dir', dir])).code, 1)
        const hex = Buffer.from(bytes.values(3).id as Buffer).toString('hex') // 03fc03
        const listed = await runCli(['failures', '001_fail', '--db', db.url, '--dir', dir])
        assert.equal(listed.code, 0, output(listed))
        assert.match(listed.stdout, new RegExp(`"${hex}"\\s+1\\s+cannot evolve row 3`))
        assert.doesNotMatch(listed.stdout, /Buffer/)
        const json = await runCli(['failures', '001_fail', '--json', '--db', db.url, '--dir', dir])
        assert.equal(json.code, 0, output(json))
        assert.deepEqual(
          (JSON.parse(json.stdout) as { failures: { key: unknown }[] }).failures.map((f) => f.key),
          [hex],
        )
        // The key as printed pages on: nothing after the only failed key.
        const after = await runCli(['failures', '001_fail', '--after', `"${hex}"`, '--db', db.url, '--dir', dir])
        assert.equal(after.code, 0, output(after))
        assert.match(after.stdout, /no failed objects after/)
      }))
  })
}

describe('keys that cannot bound ranges are refused before anything runs', () => {
  it('a PostgreSQL key with a part that has no btree order (json) is refused at validation', () =>
    withDb('postgres', async (db) => {
      await db.knex.raw('CREATE TABLE docs (name text PRIMARY KEY, body json NOT NULL)')
      await db.knex('docs').insert({ body: '{"a":1}', name: 'x' })
      const dir = await writeFiles({
        '001_docs.ts': migrationSource(`{ table: 'docs', key: ['name', 'body'], transform: () => ({ name: 'y' }) }`),
      })
      const result = await runCli(['run', '--db', db.url, '--dir', dir])
      assert.notEqual(result.code, 0)
      assert.match(result.stderr, /001_docs\.ts: key \(name, body\) of "docs" cannot be ordered/)
      assert.equal((await db.knex('docs').first()).name, 'x')
      assert.equal((await db.knex.raw("SELECT to_regclass('evolve_runs') AS t")).rows[0].t, null, 'nothing was created')
    }))

  it('a SQLite integer key beyond 2^53 is refused: it reaches JavaScript rounded', () =>
    withDb('sqlite', async (db) => {
      await db.knex.raw('CREATE TABLE big (id INTEGER PRIMARY KEY, name text)')
      await db.knex.raw("INSERT INTO big VALUES (1, 'a'), (9007199254740993, 'b')")
      const dir = await writeFiles({ '001_big.ts': migrationSource(`{ table: 'big', transform: (r) => ({ name: r.name + '!' }) }`) })
      const result = await runCli(['run', '--db', db.url, '--dir', dir])
      assert.notEqual(result.code, 0)
      assert.match(result.stderr, /001_big\.ts: key column "id" of "big" holds 9007199254740992, which does not survive being stored/)
      assert.deepEqual(await db.knex('big').orderBy('id').pluck('name'), ['a', 'b'])
    }))

  it('a composite key without a unique index over its columns is refused', () =>
    withDb('sqlite', async (db) => {
      await db.knex.raw('CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, name text)')
      const dir = await writeFiles({ '001_pairs.ts': migrationSource(`{ table: 'pairs', key: ['a', 'b'], transform: () => null }`) })
      const result = await runCli(['run', '--db', db.url, '--dir', dir])
      assert.notEqual(result.code, 0)
      assert.match(result.stderr, /001_pairs\.ts: key \(a, b\) of "pairs" is not unique/)
    }))
})
