// Read-only mode on partitioned tables (PostgreSQL): guarding a table refuses every write that
// changes its rows, whichever table of the partition tree the statement names. Naming the parent
// guards every partition (recursively, and one created while it is on); naming a partition refuses
// rows routed to it through its parent, and leaves the parent's other partitions writable. Off
// removes every trigger it added; a `mode: 'readonly'` run on a parent still writes every row once.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { isReadOnlyError } from '../lib/index.ts'
import { output, runCli, spawnCli } from './helpers/cli.ts'
import { type FreshPostgres, freshPostgres } from './helpers/databases.ts'
import { makeProject, migrationSource, waitUntil } from './helpers/fixtures.ts'

const PARTITIONS = ['accounts_t1', 'accounts_t2', 'accounts_rest', 'accounts_rest_h0', 'accounts_rest_h1']

/** `accounts`, by list of tenant (1, 2, and the rest by hash of id): 4 tenants of 10 rows. */
async function withAccounts(fn: (db: FreshPostgres) => Promise<void>): Promise<void> {
  const db = await freshPostgres()
  try {
    for (const sql of [
      'CREATE TABLE accounts (tenant_id int NOT NULL, id int NOT NULL, plan text NOT NULL, bumps int NOT NULL DEFAULT 0, PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id)',
      'CREATE TABLE accounts_t1 PARTITION OF accounts FOR VALUES IN (1)',
      'CREATE TABLE accounts_t2 PARTITION OF accounts FOR VALUES IN (2)',
      'CREATE TABLE accounts_rest PARTITION OF accounts DEFAULT PARTITION BY HASH (id)',
      'CREATE TABLE accounts_rest_h0 PARTITION OF accounts_rest FOR VALUES WITH (MODULUS 2, REMAINDER 0)',
      'CREATE TABLE accounts_rest_h1 PARTITION OF accounts_rest FOR VALUES WITH (MODULUS 2, REMAINDER 1)',
      `INSERT INTO accounts (tenant_id, id, plan) SELECT t, i, 'free' FROM generate_series(1, 4) AS t, generate_series(1, 10) AS i`,
    ])
      await db.knex.raw(sql)
    await fn(db)
  } finally {
    await db.drop()
  }
}

/** A write of the app's: refused by the guard (true) or let through (false). */
async function refused(knex: Knex, sql: string): Promise<boolean> {
  try {
    await knex.raw(sql)
    return false
  } catch (err) {
    if (isReadOnlyError(err)) return true
    throw err
  }
}

/** Every read-only trigger left in the database, PostgreSQL's copies on partitions included. */
const guardTriggers = async (knex: Knex) =>
  Number((await knex.raw(`SELECT count(*) AS n FROM pg_trigger WHERE tgname LIKE 'evolve\\_read\\_only%'`)).rows[0].n)

const status = async (db: FreshPostgres) => JSON.parse((await runCli(['readonly', 'status', '--json', '--db', db.url])).stdout)

const readOnly = async (db: FreshPostgres, tables: string) => {
  const on = await runCli(['readonly', 'on', '--tables', tables, '--message', 'maint', '--db', db.url])
  assert.equal(on.code, 0, output(on))
}

const off = async (db: FreshPostgres) => {
  const result = await runCli(['readonly', 'off', '--db', db.url])
  assert.equal(result.code, 0, output(result))
  assert.equal(await guardTriggers(db.knex), 0, 'every trigger it added is gone')
}

describe('read-only mode on partitioned tables on postgres', () => {
  it('naming the parent refuses writes to every partition, one created while it is on included, and lists them; off lets them all through', () =>
    withAccounts(async (db) => {
      await readOnly(db, 'accounts')
      assert.deepEqual((await status(db)).tables, ['accounts', ...[...PARTITIONS].sort()])
      const writes = [
        `UPDATE accounts SET plan = 'pro' WHERE tenant_id = 1 AND id = 6`,
        `UPDATE accounts_t1 SET plan = 'pro' WHERE id = 6`,
        `INSERT INTO accounts_t2 VALUES (2, 999, 'free', 0)`,
        `DELETE FROM accounts_rest_h0 WHERE id = (SELECT min(id) FROM accounts_rest_h0)`,
        `UPDATE accounts_rest SET bumps = 7 WHERE tenant_id = 3`,
        'TRUNCATE accounts_rest_h1',
        'TRUNCATE accounts',
      ]
      for (const sql of writes) assert.equal(await refused(db.knex, sql), true, sql)

      await db.knex.raw('CREATE TABLE accounts_t5 PARTITION OF accounts FOR VALUES IN (5)')
      assert.equal(await refused(db.knex, `INSERT INTO accounts_t5 VALUES (5, 1, 'free', 0)`), true, 'a partition made while it is on')
      assert.equal(await refused(db.knex, `INSERT INTO accounts VALUES (5, 2, 'free', 0)`), true)

      await off(db)
      for (const sql of writes) assert.equal(await refused(db.knex, sql), false, sql)
      assert.equal(await refused(db.knex, `INSERT INTO accounts_t5 VALUES (5, 1, 'free', 0)`), false)
      assert.equal((await status(db)).readOnly, false)
    }))

  it('naming a partition refuses the rows routed to it through the parent, and only those; off lets them through', () =>
    withAccounts(async (db) => {
      await readOnly(db, 'accounts_t1,accounts_rest')
      assert.deepEqual((await status(db)).tables, ['accounts_t1', 'accounts_rest', 'accounts_rest_h0', 'accounts_rest_h1'])
      const guarded = [
        `UPDATE accounts SET plan = 'pro' WHERE tenant_id = 1 AND id = 6`,
        `INSERT INTO accounts VALUES (1, 999, 'free', 0)`,
        'DELETE FROM accounts WHERE tenant_id = 1',
        `UPDATE accounts SET tenant_id = 1, id = 1000 WHERE tenant_id = 2 AND id = 1`, // moved into accounts_t1
        `UPDATE accounts SET bumps = 7 WHERE tenant_id = 3`, // a sub-partition of accounts_rest
        `UPDATE accounts_rest_h0 SET bumps = 7`,
        'TRUNCATE accounts',
      ]
      for (const sql of guarded) assert.equal(await refused(db.knex, sql), true, sql)
      // The parent's other partitions stay writable, through it or directly.
      assert.equal(await refused(db.knex, `UPDATE accounts SET plan = 'pro' WHERE tenant_id = 2 AND id = 6`), false)
      assert.equal(await refused(db.knex, `INSERT INTO accounts_t2 VALUES (2, 999, 'free', 0)`), false)

      await off(db)
      for (const sql of guarded) assert.equal(await refused(db.knex, sql), false, sql)
    }))

  it("keeps every partition read-only while a mode: 'readonly' migration of the parent runs, and it evolves every row once", () =>
    withAccounts(async (db) => {
      const gate = (dir: string) => path.join(dir, 'gate')
      const project = await makeProject(db, (dir) =>
        migrationSource(
          `{
  table: 'accounts',
  key: ['tenant_id', 'id'],
  mode: 'readonly',
  batchSize: 7,
  up: async (rows, { trx }) => {
    while (existsSync(${JSON.stringify(gate(dir))})) await new Promise((resolve) => setTimeout(resolve, 20))
    for (const r of rows) await trx('accounts').where({ tenant_id: r.tenant_id, id: r.id }).increment('bumps', 1)
  },
}`,
          "import { existsSync } from 'node:fs'",
        ),
      )
      try {
        await writeFile(gate(project.dir), '')
        const run = spawnCli(['run', ...project.flags], { cwd: project.dir })
        await waitUntil('read-only on for the run', async () => (await status(db)).readOnly)
        for (const sql of [`UPDATE accounts_t2 SET plan = 'pro'`, `INSERT INTO accounts_rest_h1 VALUES (3, 999, 'free', 0)`])
          assert.equal(await refused(db.knex, sql), true, sql)
        await rm(gate(project.dir))
        const done = await run.exited
        assert.equal(done.code, 0, output(done))
        const { rows: bumps } = await db.knex.raw('SELECT bumps, count(*)::int AS n FROM accounts GROUP BY bumps')
        assert.deepEqual(bumps, [{ bumps: 1, n: 40 }], 'the guard let every row of the run through, once')
        assert.equal(await guardTriggers(db.knex), 0)
        assert.equal(await refused(db.knex, `UPDATE accounts_t2 SET plan = 'pro'`), false)
      } finally {
        await project.cleanup()
      }
    }))
})
