// Turning read-only on must never make the app queue behind its DDL (PostgreSQL): a long app
// transaction holding a row lock delays `readonly on`, not the app's reads.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import knex from 'knex'
import { openEvolve } from '../lib/index.ts'
import { spawnCli } from './helpers/cli.ts'
import { fresh } from './helpers/databases.ts'
import { createItems, waitUntil } from './helpers/fixtures.ts'

const HOLD_MS = 5000

describe('read-only toggles against long app transactions on postgres', () => {
  it('keeps the app reading while `readonly on` waits for a 5 s row lock, and succeeds once the lock is gone', async () => {
    const db = await fresh('postgres')
    const app = knex({ client: 'pg', connection: db.url, pool: { min: 2, max: 4 } })
    try {
      await createItems(db.knex, 100)
      let released = 0
      let heldAt = 0
      const holder = app.transaction(async (trx) => {
        await trx('items').where({ id: 1 }).update({ counter: 1 })
        heldAt = Date.now()
        await new Promise((resolve) => setTimeout(resolve, HOLD_MS))
        released = Date.now()
      })
      await waitUntil('the app transaction holding its lock', async () => heldAt > 0)
      const cli = spawnCli(['--db', db.url, 'readonly', 'on', '--tables', 'items'])
      // The app's reads on the table, while `on` tries again and again.
      // And its writes to other rows: they would queue behind a CREATE TRIGGER waiting for the lock.
      const reads: number[] = []
      const writes: number[] = []
      // Until a second before the lock goes: a write sent as it goes would meet the switch just turned on.
      while (Date.now() < heldAt + HOLD_MS - 1000) {
        let started = performance.now()
        assert.equal((await app('items').count({ n: '*' }))[0]!.n, '100')
        reads.push(performance.now() - started)
        started = performance.now()
        await app('items').where({ id: 50 }).increment('counter', 1)
        writes.push(performance.now() - started)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await holder
      const result = await cli.exited
      assert.equal(result.code, 0, result.stderr)
      assert.ok(reads.length > 20, `only ${reads.length} reads in ${HOLD_MS - 1000} ms`)
      // Generous bound: a read queued behind the DDL would have waited for the whole lock (5 s).
      assert.ok(Math.max(...reads) < 1000, `a read took ${Math.round(Math.max(...reads))} ms`)
      assert.ok(Math.max(...writes) < 1000, `a write took ${Math.round(Math.max(...writes))} ms`)
      const state = await db.knex('evolve_read_only').first()
      assert.equal(Boolean(state.enabled), true)
      assert.ok(Number(state.since) >= released - 1000, 'read-only was on before the app released its lock')
      await assert.rejects(app('items').insert({ id: 1000, counter: 0 }), { code: '25006' })
    } finally {
      await app.destroy()
      await db.drop()
    }
  })

  it('gives up with a clear error after its patience and changes nothing', async () => {
    const db = await fresh('postgres')
    const app = knex({ client: 'pg', connection: db.url, pool: { min: 1, max: 2 } })
    const evolve = await openEvolve({ knex: db.knex, by: 'test' })
    try {
      await createItems(db.knex, 10)
      let release!: () => void
      const held = new Promise<void>((resolve) => (release = resolve))
      let holding = false
      const holder = app.transaction(async (trx) => {
        await trx('items').where({ id: 1 }).update({ counter: 1 })
        holding = true
        await held
      })
      await waitUntil('the app transaction holding its lock', async () => holding)
      await assert.rejects(evolve.readOnly.enable({ tables: ['items'], patienceMs: 800 }), {
        code: 'E_READ_ONLY_LOCK_TIMEOUT',
        transient: true,
      })
      release()
      await holder
      assert.equal((await evolve.readOnly.status()).readOnly, false)
      await app('items').insert({ id: 11, counter: 0 })
    } finally {
      await app.destroy()
      await db.drop()
    }
  })
})
