// An operator changes the batch size of a run in this process (the UI's +/-), and sees its workers.
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { describe, it } from 'node:test'
import { createMigration, defineMigration, openEvolve } from '../lib/index.ts'
import knexFactory from 'knex'
import { dialectForClient } from '../lib/dialects/for-knex.ts'
import { dialects, fresh } from './helpers/databases.ts'
import { batchRows, counterHistogram, createItems, keysInRange, runRow, waitUntil } from './helpers/fixtures.ts'
import type { Knex } from 'knex'

/** The batches of a run in id order, with the size each was planned with (the rate limit's and the sizer's view). */
async function plannedBatches(knex: Knex, name: string): Promise<{ id: number; phase: string; planned: number | null }[]> {
  const rows: { id: unknown; phase: string; planned: unknown }[] = await knex('evolve_batches').where({ run_name: name }).orderBy('id')
  return rows.map((r) => ({ id: Number(r.id), phase: r.phase, planned: r.planned === null ? null : Number(r.planned) }))
}

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

    it(`on ${dialect}: a size set while a set run is paused holds after resume, in the scan and the sweep, and status shows it`, async () => {
      const db = await fresh(dialect)
      await createItems(db.knex, 400)
      const migration = createMigration(
        'bump',
        defineMigration({
          table: 'items',
          batchSize: 20,
          pending: (q) => q.where('counter', 0),
          set: { counter: (knex) => knex.raw('counter + 1') },
        }),
      )
      const evolve = await openEvolve({ knex: db.knex, migrations: [migration] })
      // The hook holds the run after its second batch, so the pause lands mid-scan with the size still adapting.
      let calls = 0
      let released = false
      const throttle = () => (++calls > 2 && !released ? { reason: 'held by the test', ms: 10 } : false)
      try {
        const handle = await evolve.run([], { throttle })
        await waitUntil('the hook to hold the run', async () => (await runRow(db.knex, 'bump'))?.throttleReason === 'held by the test')
        await evolve.pause('bump')
        released = true
        const before = (await plannedBatches(db.knex, 'bump')).length
        // An old app instance writes the old shape into rows the scan has passed: a sweep evolves them.
        await db.knex('items').where('id', '<=', 10).update({ counter: 0 })
        // More rows than are left: no batch after it spans the size in full (as with the sweep's few rows).
        assert.equal(handle.setBatchSize(1000), 1000)
        await waitUntil('status to show the size while the run is paused', async () => (await evolve.status())[0]?.batchSize === 1000)
        await evolve.resume('bump')
        const [result] = await handle.done
        assert.equal(result!.state, 'done')
        const after = (await plannedBatches(db.knex, 'bump')).slice(before)
        assert.deepEqual(
          after.map((b) => b.phase),
          ['scan', 'sweep'],
          'the rest of the scan, then one sweep',
        )
        assert.deepEqual(
          after.map((b) => b.planned),
          [1000, 1000],
          "both at the operator's size",
        )
        assert.equal((await evolve.status())[0]!.batchSize, 1000, "status shows the operator's size")
        assert.equal(handle.batchSize, null, 'no worker once the run is done')
        assert.deepEqual(await counterHistogram(db.knex), { 1: 400 })
      } finally {
        await evolve.close()
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
