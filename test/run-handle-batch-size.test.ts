// An operator changes the batch size of a run in this process (the UI's +/-), and sees its workers.
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { describe, it } from 'node:test'
import { createMigration, defineMigration, openEvolve } from '../lib/index.ts'
import knexFactory from 'knex'
import { dialectForClient } from '../lib/dialects/for-knex.ts'
import { dialects, fresh } from './helpers/databases.ts'
import { batchRows, counterHistogram, createItems, keysInRange, waitUntil } from './helpers/fixtures.ts'

describe('RunHandle.setBatchSize', { concurrency: 2 }, () => {
  for (const dialect of dialects) {
    it(`on ${dialect}: later batches use the size set mid-run, and workers() names this process`, async () => {
      const db = await fresh(dialect)
      await createItems(db.knex, 300)
      // The CLI's own connection settings (on SQLite one connection, held by the gated batch:
      // another admin object on the test's own connection reads the workers meanwhile).
      const dialectOf = dialectForClient(dialect === 'postgres' ? 'pg' : 'better-sqlite3')!
      const knex = knexFactory(dialectOf.knexConfig(db.dialect === 'sqlite' ? { filename: db.file } : db.url, { max: 4 }))
      // The first batch waits for the gate, so the size changes while a worker is mid-run.
      let open: () => void = () => {}
      const gate = new Promise<void>((resolve) => (open = resolve))
      let first = true
      const migration = createMigration(
        'bump',
        defineMigration({
          table: 'items',
          batchSize: 10,
          up: async (rows, { trx }) => {
            if (first) {
              first = false
              await gate
            }
            await trx('items')
              .whereIn(
                'id',
                rows.map((r) => r.id),
              )
              .increment('counter', 1)
          },
        }),
      )
      const evolve = await openEvolve({ knex, migrations: [migration] })
      const observer = await openEvolve({ knex: db.knex })
      try {
        const handle = await evolve.run()
        await waitUntil('a worker to start', async () => handle.batchSize !== null)
        assert.equal(handle.batchSize, 10)
        assert.equal(handle.batchCap, null, 'no rate limit, no cap')
        const workers = await waitUntil('the worker to register', async () => {
          const w = await observer.workers('bump')
          return w.length > 0 ? w : null
        })
        assert.deepEqual(
          workers.map((w) => [w.host, w.pid]),
          [[hostname(), process.pid]],
        )
        assert.equal(handle.setBatchSize(70), 70)
        assert.throws(() => handle.setBatchSize(0), /positive integer/)
        open()
        const [result] = await handle.done
        assert.equal(result!.state, 'done')
        const scan = (await batchRows(db.knex, 'bump')).filter((b) => b.phase === 'scan' && b.state === 'done')
        const sizes = await Promise.all(scan.map((b) => keysInRange(db.knex, b.lo, b.hi)))
        assert.equal(sizes[0], 10, `the gated batch kept its size: ${sizes.join(',')}`)
        assert.deepEqual(sizes.slice(1, 4), [70, 70, 70], `then batches of 70: ${sizes.join(',')}`)
        assert.deepEqual(await counterHistogram(db.knex), { 1: 300 })
        assert.deepEqual(await evolve.workers('bump'), [], 'no worker once the run is done')
      } finally {
        await evolve.close()
        await knex.destroy()
        await db.drop()
      }
    })

    it(`on ${dialect}: batchCap is the run's rate limit, the most rows a batch takes whatever its size`, async () => {
      const db = await fresh(dialect)
      await createItems(db.knex, 30)
      const migration = createMigration('bump', defineMigration({ table: 'items', batchSize: 10, transform: () => ({ counter: 1 }) }))
      const evolve = await openEvolve({ knex: db.knex, migrations: [migration] })
      try {
        const handle = await evolve.run([], { maxRowsPerSecond: 50 })
        assert.equal(handle.batchCap, 50)
        await handle.done
      } finally {
        await evolve.close()
        await db.drop()
      }
    })
  }
})
