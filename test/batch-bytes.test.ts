// Bounded memory: transform/up read only the key and the declared `columns`, and a batch
// stops reading at maxBatchBytes of row data (the rest of its range becomes a batch of its own).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { connect } from '../lib/config/connect.ts'
import { parseDatabaseUrl } from '../lib/config/parse-url.ts'
import { Runner, loadMigrations } from '../lib/index.ts'
import { output, runCli } from './helpers/cli.ts'
import { dialects, runnerKnex, type FreshDatabase, withDb } from './helpers/databases.ts'
import { addTouchCounter, failureRows, insertChunked, migrationSource, runRow, writeFiles } from './helpers/fixtures.ts'

const ROWS = 40
const BODY = 1000

async function createDocs(db: FreshDatabase): Promise<void> {
  await db.knex.raw(
    'CREATE TABLE docs (id integer PRIMARY KEY, title text NOT NULL, body text NOT NULL, touches integer NOT NULL DEFAULT 0)',
  )
  await addTouchCounter(db, 'docs')
  const rows = Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, title: `Title ${i + 1}`, body: 'x'.repeat(BODY) }))
  await insertChunked(db.knex, 'docs', rows)
}

/** Rows each done scan batch evolved, in batch order. */
async function batchRows(db: FreshDatabase, name: string): Promise<number[]> {
  const rows = await db.knex('evolve_batches').where({ run_name: name, state: 'done' }).orderBy('id').select('rows')
  return rows.map((r) => Number(r.rows))
}

async function assertEvolvedOnce(db: FreshDatabase): Promise<void> {
  const rows = await db.knex('docs').orderBy('id')
  assert.equal(rows.length, ROWS)
  for (const row of rows) {
    assert.equal(row.touches, 1, `doc ${row.id} was written ${row.touches} times`)
    assert.equal(row.title, `title ${row.id}`)
    assert.equal(row.body.length, BODY, 'the body is never written back')
  }
}

const LOWER_TITLE = `{
  table: 'docs',
  columns: ['title'],
  transform: (row) => {
    const read = Object.keys(row).sort().join(',')
    if (read !== 'id,title') throw new Error('the row was read with ' + read)
    return { title: row.title.toLowerCase() }
  },
}`

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('transform reads only the key and the declared columns', () =>
      withDb(d, async (db) => {
        await createDocs(db)
        const dir = await writeFiles({ '001_title.ts': migrationSource(LOWER_TITLE) })
        const result = await runCli(['run', '--db', db.url, '--dir', dir, '--batch-size', '15'])
        assert.equal(result.code, 0, output(result))
        assert.deepEqual(await failureRows(db.knex, '001_title'), [])
        assert.equal((await runRow(db.knex, '001_title'))?.state, 'done')
        await assertEvolvedOnce(db)
      }))

    it('a batch stops at maxBatchBytes of row data and the rest of its range is evolved by the next batches', () =>
      withDb(d, async (db) => {
        await createDocs(db)
        // Every column is read: each row holds about BODY bytes, so 5 rows reach the cap.
        const dir = await writeFiles({
          '001_title.ts': migrationSource(`{ table: 'docs', transform: (row) => ({ title: row.title.toLowerCase() }) }`),
        })
        const knex = runnerKnex(db)
        try {
          const runner = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: ROWS, maxBatchBytes: 5 * BODY })
          await runner.run()
        } finally {
          await knex.destroy()
        }
        await assertEvolvedOnce(db)
        const sizes = await batchRows(db, '001_title')
        assert.equal(
          sizes.reduce((a, b) => a + b, 0),
          ROWS,
        )
        // A batch reads until its bytes reach the cap: at most one row past 4 full ones.
        assert.ok(
          sizes.every((n) => n <= 5),
          `batch sizes ${sizes.join(',')}`,
        )
        assert.ok(sizes.length >= ROWS / 5, `batch sizes ${sizes.join(',')}`)
      }))

    it('with the wide column left undeclared by `columns`, the same cap does not cut the batch', () =>
      withDb(d, async (db) => {
        await createDocs(db)
        const dir = await writeFiles({ '001_title.ts': migrationSource(LOWER_TITLE) })
        const knex = runnerKnex(db)
        try {
          const runner = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: ROWS, maxBatchBytes: 5 * BODY })
          await runner.run()
        } finally {
          await knex.destroy()
        }
        await assertEvolvedOnce(db)
        assert.deepEqual(await batchRows(db, '001_title'), [ROWS])
      }))
  })
}

describe("the page cache of evolvekit's SQLite connection", () => {
  it("is SQLite's own 2 MB, not better-sqlite3's 16 MB: pages of wide rows an UPDATE passes through do not grow the runner", () =>
    withDb('sqlite', async (db) => {
      await createDocs(db) // creates the file
      const { client, connection } = parseDatabaseUrl(db.url, process.cwd(), 'test')
      const { knex } = await connect({ client, connection, migrationsDir: '', source: 'test', run: {} })
      try {
        const [row] = (await knex.raw('PRAGMA cache_size')) as { cache_size: number }[]
        assert.equal(row?.cache_size, -2000)
        const [mode] = (await knex.raw('PRAGMA journal_mode')) as { journal_mode: string }[]
        assert.equal(mode?.journal_mode, 'wal')
      } finally {
        await knex.destroy()
      }
    }))
})
