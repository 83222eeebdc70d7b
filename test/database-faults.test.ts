// When the database, not a row, fails a batch (out of disk space, a read-only transaction), the
// run stops at once saying what to mend: no batch is split and no healthy row is recorded as
// failed. Each fault is raised by the real database, from inside the migration's own `up`.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { output, runCli } from './helpers/cli.ts'
import { dialects, withDb } from './helpers/databases.ts'
import {
  countBatches,
  createItems,
  failureRows,
  runRow,
  setMigration,
  trackingTables,
  withAppRole,
  writeFiles,
} from './helpers/fixtures.ts'

const ROWS = 200

/** An `up` that makes its own transaction unable to write, as a full disk or a replica would. */
const faultyUp = {
  // A full disk, as SQLite says it: the file may not grow past its current size.
  sqlite: `const { page_count } = (await ctx.trx.raw('PRAGMA page_count'))[0]
    await ctx.trx.raw(\`PRAGMA max_page_count = \${page_count}\`)
    await ctx.trx('items').whereIn('id', rows.map((r) => r.id)).update({ blob: ctx.trx.raw('zeroblob(100000)') })`,
  // What a replica or default_transaction_read_only answers (SQLSTATE 25006).
  postgres: `await ctx.trx.raw('SET TRANSACTION READ ONLY')
    await ctx.trx('items').whereIn('id', rows.map((r) => r.id)).update({ counter: 1 })`,
}

const expected = {
  sqlite:
    /^the database or its disk is full: free space \(or raise max_page_count\) \(SQLITE_FULL: .*\); then `evolve run 001_fault` resumes$/,
  postgres:
    /^the database refuses writes \(a read replica, or default_transaction_read_only for this role\): point evolvekit at the primary \(25006: .*\); then `evolve run 001_fault` resumes$/,
}

for (const d of dialects) {
  describe(d, () => {
    it('a batch the database fails for a reason no row is to blame for stops the run at once, naming it, with no split and no failed object', () =>
      withDb(d, async (db) => {
        await createItems(db.knex, ROWS)
        await db.knex.schema.alterTable('items', (t) => t.binary('blob'))
        const dir = await writeFiles({
          '001_fault.ts': `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  batchSize: 50,
  async up(rows, ctx) {
    ${faultyUp[d]}
  },
})
`,
        })
        const result = await runCli(['run', '--db', db.url, '--dir', dir])
        assert.equal(result.code, 1, output(result))
        const run = await runRow(db.knex, '001_fault')
        assert.equal(run?.state, 'failed')
        assert.match(run?.lastError ?? '', expected[d])
        assert.deepEqual(await failureRows(db.knex, '001_fault'), [])
        assert.equal(await countBatches(db.knex, '001_fault', { state: 'split' }), 0)
        assert.equal(await countBatches(db.knex, '001_fault', { state: 'done' }), 0)
      }))
  })
}

describe('postgres', () => {
  it("an internal error an extension raises for one value (XX000) is still that row's: it is isolated and the rest evolved", () =>
    withDb('postgres', async (db) => {
      await createItems(db.knex, ROWS)
      // As PostGIS raises a TopologyException for one invalid geometry.
      await db.knex.raw(`CREATE FUNCTION evk_check(int) RETURNS int LANGUAGE plpgsql AS $$
        BEGIN
          IF $1 = 77 THEN RAISE EXCEPTION 'TopologyException: side location conflict' USING ERRCODE = 'XX000'; END IF;
          RETURN 1;
        END $$`)
      const dir = await writeFiles({
        '001_fault.ts': `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  batchSize: 50,
  pending: (q) => q.where('counter', 0),
  set: { counter: (knex) => knex.raw('evk_check(id)') },
})
`,
      })
      const result = await runCli(['run', '--db', db.url, '--dir', dir])
      assert.equal(result.code, 1, output(result))
      assert.deepEqual(
        (await failureRows(db.knex, '001_fault')).map((f) => Number(f.key)),
        [77],
      )
      assert.equal(Number((await db.knex('items').where({ counter: 1 }).count({ n: '*' }).first())?.n), ROWS - 1)
    }))

  it('an up writing a table the role was never granted, in a database without row-level security, stops the run at once with the privilege to grant: no split, no failed object, no row changed', () =>
    withAppRole(ROWS, async (db, app) => {
      // Every row fails alike: no row-level security policy anywhere could make it one row's.
      await db.knex.raw('CREATE TABLE audit (item_id integer NOT NULL)')
      const dir = await writeFiles({
        '001_fault.ts': `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  batchSize: 50,
  async up(rows, ctx) {
    await ctx.trx('audit').insert(rows.map((r) => ({ item_id: r.id })))
    await ctx.trx('items').whereIn('id', rows.map((r) => r.id)).update({ counter: 1 })
  },
})
`,
      })
      const result = await runCli(['run', '--db', app.url, '--dir', dir])
      assert.equal(result.code, 1, output(result))
      const run = await runRow(db.knex, '001_fault')
      assert.equal(run?.state, 'failed')
      assert.match(
        run?.lastError ?? '',
        /^the role evolvekit runs as lacks a privilege: grant it \(42501: .*permission denied for table audit\); then `evolve run 001_fault` resumes$/,
      )
      assert.deepEqual(await failureRows(db.knex, '001_fault'), [])
      assert.equal(await countBatches(db.knex, '001_fault', { state: 'split' }), 0)
      assert.equal(Number((await db.knex('items').where({ counter: 1 }).count({ n: '*' }).first())?.n), 0, 'no row changed')
    }))

  it('a role that may not create the tracking tables is told so in one line, exit 2, and nothing is created', () =>
    withAppRole(ROWS, async (db, app) => {
      await db.knex.raw(`REVOKE CREATE ON SCHEMA public FROM ${app.role}, PUBLIC`)
      const dir = await writeFiles({ '001_bump.ts': setMigration(50) })
      const result = await runCli(['run', '--db', app.url, '--dir', dir])
      assert.equal(result.code, 2, output(result))
      assert.match(
        result.stderr,
        /^evolve: the role evolvekit runs as lacks a privilege: grant it \(42501: .*permission denied for schema public\)\n$/,
      )
      assert.deepEqual(await trackingTables(db), [])
    }))
})
