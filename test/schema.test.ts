import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import knexFactory from 'knex'
import { ensureSchema, hasSchema, TABLES } from '../lib/store/schema.ts'
import { dialectOf } from '../lib/dialects/for-knex.ts'
import { storeFor } from '../lib/store/store.ts'
import { output, runCli } from './helpers/cli.ts'
import { dialects, fresh } from './helpers/databases.ts'

for (const d of dialects) {
  describe(`tracking tables on ${d}`, () => {
    it('are created by several processes starting at the same moment, exactly once', async () => {
      const db = await fresh(d)
      // Separate knex instances are separate connections: a real race, as between processes.
      const config = d === 'postgres' ? { connection: db.url } : { connection: { filename: db.url.slice('sqlite:'.length) } }
      const others = [1, 2, 3].map(() => knexFactory(dialectOf(db.knex).knexConfig(config.connection)))
      try {
        assert.equal(await hasSchema(db.knex), false)
        await Promise.all(others.map((k) => ensureSchema(k)))
        for (const table of Object.values(TABLES)) assert.ok(await db.knex.schema.hasTable(table), `${table} exists`)
        const meta = await db.knex(TABLES.meta).where({ key: 'schema_version' })
        assert.equal(meta.length, 1)
        const version = Number(meta[0].value)
        assert.ok(version >= 2, `schema version ${version}`)
        // Upgraded columns of later versions are there too.
        assert.ok(await db.knex.schema.hasColumn(TABLES.runs, 'throttle_reason'))
        assert.ok(await db.knex.schema.hasColumn(TABLES.workers, 'run_name'))
      } finally {
        await Promise.all(others.map((k) => k.destroy()))
        await db.drop()
      }
    })

    it('are upgraded from an older version without losing their rows', async () => {
      const db = await fresh(d)
      try {
        // Tables as the first version made them, with a run in them; then every later step.
        await ensureSchema(db.knex, 1)
        assert.ok(!(await db.knex.schema.hasTable(TABLES.control)))
        await db.knex(TABLES.runs).insert({ name: 'm1', state: 'done', phase: 'scan', batch_size: 10, created_at: 1, updated_at: 1 })
        await ensureSchema(db.knex)
        assert.ok(await db.knex.schema.hasTable(TABLES.control))
        assert.ok(await db.knex.schema.hasColumn(TABLES.runs, 'throttle_reason'))
        assert.ok(await db.knex.schema.hasColumn(TABLES.batches, 'planned'))
        assert.ok(await db.knex.schema.hasColumn(TABLES.runs, 'changed_by'))
        assert.equal((await db.knex(TABLES.readOnly).first()).id, 1)
        const [run] = await db.knex(TABLES.runs).where({ name: 'm1' })
        assert.equal(run.state, 'done')
      } finally {
        await db.drop()
      }
    })

    it('are upgraded by a newer evolvekit resuming or cancelling a run an older one made, before it writes columns the older never had', async () => {
      const db = await fresh(d)
      try {
        // As evolvekit made them before the runs table learnt pending_at_end and active_ms.
        await ensureSchema(db.knex, 6)
        assert.ok(!(await db.knex.schema.hasColumn(TABLES.runs, 'active_ms')))
        await db.knex(TABLES.runs).insert({ name: 'm1', state: 'paused', phase: 'scan', batch_size: 10, created_at: 1, updated_at: 1 })
        const resumed = await runCli(['resume', 'm1', '--db', db.url])
        assert.equal(resumed.code, 0, output(resumed))
        assert.ok(await db.knex.schema.hasColumn(TABLES.runs, 'active_ms'), 'upgraded')
        const cancelled = await runCli(['cancel', 'm1', '--db', db.url])
        assert.equal(cancelled.code, 0, output(cancelled))
        assert.equal((await db.knex(TABLES.runs).where({ name: 'm1' }).first()).state, 'cancelled')
      } finally {
        await db.drop()
      }
    })

    it("serve a rate limit's window and the current rate from indexes, not by reading every batch of a long run", async () => {
      const db = await fresh(d)
      try {
        await ensureSchema(db.knex)
        const now = Date.now()
        const done = (i: number) => ({ run_name: 'long', phase: 'scan', state: 'done', hi: String(i), rows: 10, planned: 10 })
        const at = (i: number) => now - (20_000 - i) * 1000
        for (let i = 0; i < 20_000; i += 500)
          await db.knex(TABLES.batches).insert(
            Array.from({ length: 500 }, (_, j) => ({
              ...done(i + j),
              created_at: at(i + j),
              claimed_at: at(i + j),
              finished_at: at(i + j),
            })),
          )
        await db.knex.raw(d === 'postgres' ? 'ANALYZE evolve_batches' : 'ANALYZE')
        // The statements the store runs, explained as the database would run them.
        const queries: { sql: string; bindings: readonly unknown[] }[] = []
        const record = (q: { sql: string; bindings?: readonly unknown[] }) => queries.push({ sql: q.sql, bindings: q.bindings ?? [] })
        db.knex.on('query', record)
        const store = storeFor(db.knex)
        await store.rates.rateWindow(db.knex, 'long', 1000)
        await store.rates.recentRows(db.knex, 'long', 60_000)
        db.knex.off('query', record)
        const reads = queries.filter((q) => q.sql.includes(TABLES.batches))
        assert.equal(reads.length, 2, JSON.stringify(queries))
        for (const q of reads) {
          const plan =
            d === 'postgres'
              ? JSON.stringify((await db.knex.raw(`EXPLAIN (FORMAT JSON) ${q.sql.replace(/\$\d+/g, '?')}`, q.bindings as never)).rows)
              : JSON.stringify(await db.knex.raw(`EXPLAIN QUERY PLAN ${q.sql}`, q.bindings as never))
          assert.doesNotMatch(plan, d === 'postgres' ? /"Seq Scan"/ : /SCAN evolve_batches(?! USING)/, `${q.sql}\n${plan}`)
        }
      } finally {
        await db.drop()
      }
    })
  })
}
