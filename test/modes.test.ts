// The three evolve modes, through the real CLI: what they change, what they leave alone,
// and how values travel through transform mode's set-based write-back.
import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { Runner, loadMigrations } from '../lib/index.ts'
import { output, runCli } from './helpers/cli.ts'
import { dialects, type FreshDatabase, runnerKnex, withDb } from './helpers/databases.ts'
import {
  addTouchCounter,
  appWriteSync,
  countBatches,
  createUsers,
  insertChunked,
  migrationSource,
  newEmail,
  rowsOf,
  runRow,
  writeFiles,
} from './helpers/fixtures.ts'

// A zone with a non-whole-hour UTC offset and no DST, for this process and every CLI it
// starts: a timestamp handled as UTC where the driver uses local time shows up as shifted.
const TZ = 'Asia/Kolkata'
process.env.TZ = TZ

const PENDING = "pending: (q) => q.whereRaw('email <> lower(email)')"

const MODES = {
  transform: `{
    table: 'users',
    ${PENDING},
    transform: (row) => ({ email: row.email.toLowerCase() }),
  }`,
  set: `{
    table: 'users',
    ${PENDING},
    set: { email: (k) => k.raw('lower(email)') },
  }`,
  up: `{
    table: 'users',
    ${PENDING},
    async up(rows, { trx }) {
      for (const row of rows) await trx('users').where({ id: row.id }).update({ email: row.email.toLowerCase() })
    },
  }`,
} as const

const isPending = (id: number) => id % 3 === 0 || id % 7 === 0

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    for (const [mode, spec] of Object.entries(MODES)) {
      it(`${mode} mode evolves every pending row exactly once and leaves every other row untouched`, () =>
        withDb(d, async (db) => {
          const count = 150
          await createUsers(db, { count, pending: isPending })
          await addTouchCounter(db, 'users')
          const before = await rowsOf(db.knex, 'users')
          const dir = await writeFiles({ [`001_lower_${mode}.ts`]: migrationSource(spec) })

          const result = await runCli(['run', '--db', db.url, '--dir', dir, '--batch-size', '40'])
          assert.equal(result.code, 0, output(result))

          const after = await rowsOf(db.knex, 'users')
          assert.equal(after.length, before.length)
          const pendingIds = before.filter((r) => isPending(r.id as number)).map((r) => r.id)
          assert.ok(pendingIds.length > 0 && pendingIds.length < count, 'the seed mixes pending and evolved rows')
          for (const [i, row] of after.entries()) {
            const id = before[i]!.id as number
            if (isPending(id)) {
              assert.deepEqual(row, { ...before[i], email: newEmail(id), touches: 1 }, `pending row ${id}`)
            } else {
              assert.deepEqual(row, before[i], `row ${id} did not match pending and must be untouched`)
            }
          }
        }))
    }

    it('a transform that returns null leaves its row alone while the others evolve', () =>
      withDb(d, async (db) => {
        // No `pending`: every row is handed to transform once; it declines the even ones.
        await createUsers(db, { count: 60, pending: () => true })
        await addTouchCounter(db, 'users')
        const before = await rowsOf(db.knex, 'users')
        const dir = await writeFiles({
          '001_some.ts': migrationSource(`{
            table: 'users',
            transform: (row) => (row.id % 2 === 0 ? null : { email: row.email.toLowerCase() }),
          }`),
        })

        const result = await runCli(['run', '--db', db.url, '--dir', dir, '--batch-size', '25'])
        assert.equal(result.code, 0, output(result))

        const after = await rowsOf(db.knex, 'users')
        for (const [i, row] of after.entries()) {
          const id = before[i]!.id as number
          const expected = id % 2 === 0 ? before[i] : { ...before[i], email: newEmail(id), touches: 1 }
          assert.deepEqual(row, expected, `row ${id}`)
        }
        assert.equal((await runRow(db.knex, '001_some'))?.state, 'done')
      }))

    it('a batch re-reads its rows under lock and re-checks pending, so an app write made after planning wins', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 40, pending: () => true })
        await addTouchCounter(db, 'users')
        const dir = await writeFiles({
          '001_lower.ts': migrationSource(`{
            table: 'users',
            ${PENDING},
            transform: (row) => ({ email: row.email.toLowerCase() }),
          }`),
        })
        const knex = runnerKnex(db)
        try {
          const runner = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 10 })
          // The first statement of every batch transaction is the claim fence on evolve_batches.
          // At the second batch's fence its key range is planned and recorded, its rows not
          // read yet: the app changes two of them right then, on its own connection.
          let fences = 0
          knex.on('query', ({ sql }: { sql: string }) => {
            if (!/update\s+["`]evolve_batches["`]\s+set\s+["`]attempts["`]\s*=\s*["`]attempts["`]\s*\+/i.test(sql)) return
            fences += 1
            if (fences !== 2) return
            // 15 no longer matches pending; 16 still does, with a value the batch has never seen.
            appWriteSync(db, 'UPDATE users SET email = ? WHERE id = ?', ['app-wrote-15@example.com', 15])
            appWriteSync(db, 'UPDATE users SET email = ? WHERE id = ?', ['APP-WROTE-16@EXAMPLE.COM', 16])
          })
          const [result] = await runner.run()
          assert.equal(result?.state, 'done')
        } finally {
          await knex.destroy()
        }

        const batches = await db.knex('evolve_batches').where({ run_name: '001_lower' }).orderBy('id')
        const second = batches[1]
        assert.ok(second, 'the run had a second batch')
        const lo = second.lo === null ? -Infinity : JSON.parse(second.lo)
        const hi = JSON.parse(second.hi)
        assert.ok(lo < 15 && 16 <= hi, `rows 15 and 16 belong to the second batch (${lo}, ${hi}]`)

        const rows = new Map((await rowsOf(db.knex, 'users')).map((r) => [r.id as number, r]))
        assert.equal(rows.get(15)?.email, 'app-wrote-15@example.com', "the app's value is kept, not overwritten")
        assert.equal(rows.get(15)?.touches, 1, 'row 15 was written by the app only')
        assert.equal(rows.get(16)?.email, 'app-wrote-16@example.com', "the transform saw the app's value, not a stale one")
        assert.equal(rows.get(16)?.touches, 2, 'row 16 was written by the app, then by the batch')
        for (const [id, row] of rows) {
          if (id === 15 || id === 16) continue
          assert.equal(row.email, newEmail(id), `row ${id}`)
          assert.equal(row.touches, 1, `row ${id} evolved once`)
        }
      }))

    describe('transform write-back', () => {
      // Shared by the migration (which returns these values) and the test (which expects them).
      const valuesModule = `
        const text = "O'Brien said \\"hi\\" \\\\ back-slash; ü, 日本語, emoji 🎉, -- not a comment"
        export function valuesFor(id) {
          if (id % 2 === 1) {
            return {
              i: id * 1000 + 7,
              t: text + ' #' + id,
              n: null,
              b: true,
              ts: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678) + id * 86400000),
              ts_local: new Date(Date.UTC(2023, 6, 14, 22, 30, 0) + id * 3600000),
              j: JSON.stringify({ id, list: [1, 'two', null, { three: 3 }], quote: "it's" }),
            }
          }
          // Even rows change other columns: a second write-back group.
          return { i: -id, t: 'line\\nbreak\\ttab #' + id, b: false }
        }
      `

      async function setUp(db: FreshDatabase, table: string) {
        await db.knex.schema.createTable(table, (t) => {
          t.integer('id').primary()
          t.integer('i')
          t.text('t')
          t.text('n')
          t.boolean('b')
          t.timestamp('ts') // timestamptz on PostgreSQL
          t.timestamp('ts_local', { useTz: false })
          t.text('j')
        })
        const rows = Array.from({ length: 6 }, (_, k) => ({
          id: k + 1,
          i: 0,
          t: 'old',
          n: 'was not null',
          b: k % 2 === 0,
          ts: null,
          ts_local: null,
          j: null,
        }))
        await insertChunked(db.knex, table, rows)
      }

      async function evolve(db: FreshDatabase) {
        const root = await writeFiles({
          'shared/values.mjs': valuesModule,
          'migrations/001_values.ts': migrationSource(
            `{ table: 'vals', transform: (row) => valuesFor(row.id) }`,
            "import { valuesFor } from '../shared/values.mjs'",
          ),
        })
        await setUp(db, 'vals')
        const result = await runCli(['run', '--db', db.url, '--dir', path.join(root, 'migrations')], { env: { TZ } })
        assert.equal(result.code, 0, output(result))
        const { valuesFor } = (await import(pathToFileURL(path.join(root, 'shared/values.mjs')).href)) as {
          valuesFor: (id: number) => Record<string, unknown>
        }
        return valuesFor
      }

      it('values of several types read back as the transform returned them', () =>
        withDb(d, async (db) => {
          const valuesFor = await evolve(db)
          const rows = await rowsOf(db.knex, 'vals')
          assert.equal(rows.length, 6)
          for (const row of rows) {
            const id = row.id as number
            const expected = { id, i: 0, t: 'old', n: 'was not null', b: id % 2 === 1, ts: null, ts_local: null, j: null, ...valuesFor(id) }
            const actual: Record<string, unknown> = {
              ...row,
              // SQLite has no boolean type (knex stores 1/0); dates come back as the driver stores them.
              b: d === 'sqlite' ? row.b === 1 : row.b,
              ts: row.ts === null ? null : new Date(row.ts as string | number | Date),
              ts_local: row.ts_local === null ? null : new Date(row.ts_local as string | number | Date),
            }
            if (d === 'sqlite') assert.ok(row.b === 0 || row.b === 1, `row ${id}: b is stored as 0/1, got ${String(row.b)}`)
            assert.deepEqual(actual, expected, `row ${id}`)
          }
        }))

      it('stores every value exactly as knex stores the same value', () =>
        withDb(d, async (db) => {
          const valuesFor = await evolve(db)
          // The app writes the same values through knex into an identical table.
          await setUp(db, 'vals_by_knex')
          for (let id = 1; id <= 6; id++) await db.knex('vals_by_knex').where({ id }).update(valuesFor(id))
          const typed = (table: string) =>
            d === 'postgres'
              ? db.knex
                  .raw(`SELECT id, i::text, t, n, b::text, ts::text, ts_local::text, j FROM "${table}" ORDER BY id`)
                  .then((r) => r.rows)
              : db.knex.raw(`SELECT id, typeof(i) || ':' || i AS i, t, n, typeof(b) || ':' || b AS b,
                  typeof(ts) || ':' || ts AS ts, typeof(ts_local) || ':' || ts_local AS ts_local, j FROM "${table}" ORDER BY id`)
          assert.deepEqual(await typed('vals'), await typed('vals_by_knex'))
        }))
    })

    it('text keys work', () =>
      withDb(d, async (db) => {
        await db.knex.schema.createTable('codes', (t) => {
          t.string('code', 64).primary()
          t.string('label', 255).notNullable()
        })
        // Mixed case, digits and punctuation: ordered by the database, never parsed as numbers.
        const codes = Array.from(
          { length: 90 },
          (_, i) => `${['a', 'B', 'c-', 'z_', '0'][i % 5]}${String((i * 37) % 101).padStart(3, '0')}-k`,
        )
        await insertChunked(
          db.knex,
          'codes',
          codes.map((code) => ({ code, label: `Label ${code}` })),
        )
        const dir = await writeFiles({
          '001_labels.ts': migrationSource(`{
            table: 'codes',
            key: 'code',
            pending: (q) => q.where('label', 'like', 'Label %'),
            transform: (row) => ({ label: 'done:' + row.code }),
          }`),
        })

        const result = await runCli(['run', '--db', db.url, '--dir', dir, '--batch-size', '7'])
        assert.equal(result.code, 0, output(result))

        const rows = await rowsOf(db.knex, 'codes', 'code')
        assert.equal(rows.length, codes.length)
        for (const row of rows) assert.equal(row.label, `done:${row.code}`)
        assert.equal(await countBatches(db.knex, '001_labels', { phase: 'scan' }), Math.ceil(codes.length / 7))
      }))

    it('--batch-size sets the number of batches', () =>
      withDb(d, async (db) => {
        const count = 50
        await createUsers(db, { count, pending: () => true })
        // Two migrations without `pending` (every row once), run one after the other with different sizes.
        // Each its own description: the same code under another name would look like a rename (and be refused).
        const spec = (name: string) =>
          `{ table: 'users', description: '${name}', transform: (row) => ({ email: row.email.toLowerCase(), counter: row.counter + 1 }) }`
        const sizes = { '001_by7': 7, '002_by20': 20 }
        for (const [name, size] of Object.entries(sizes)) {
          const dir = await writeFiles({ [`${name}.ts`]: migrationSource(spec(name)) })
          const result = await runCli(['run', '--db', db.url, '--dir', dir, '--batch-size', String(size)])
          assert.equal(result.code, 0, output(result))
          const sum = await db.knex('evolve_batches').where({ run_name: name }).sum({ rows: 'rows' }).first()
          assert.equal(Number(sum?.rows), count, `${name}: the batches together evolved every row once`)
          assert.equal(await countBatches(db.knex, name), Math.ceil(count / size), `${name}: batches of ${size}`)
        }
        const rows = await rowsOf(db.knex, 'users')
        assert.ok(
          rows.every((r) => r.email === newEmail(r.id as number) && r.counter === 2),
          'each run evolved every row once',
        )
      }))
  })
}
