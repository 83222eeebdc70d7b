// Generated columns (GENERATED ALWAYS AS …) are computed by the database and never written back:
// a transform returning the whole row (`{ ...row, note }`) hands them back as read, and that is
// fine; returning another value for one is a broken migration, refused at the first batch.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AnyRow, MigrationDefinition } from '../lib/index.ts'
import { dialects, runDefinition, type FreshDatabase, withDb } from './helpers/databases.ts'
import { failureRows, insertChunked, runRow } from './helpers/fixtures.ts'

const ROWS = 25

/** `orders` with a STORED generated `total` (and, on SQLite, a VIRTUAL `twice`). */
async function createOrders(db: FreshDatabase): Promise<void> {
  await db.knex.raw(
    db.dialect === 'postgres'
      ? `CREATE TABLE orders (id integer PRIMARY KEY, amount numeric NOT NULL, qty integer NOT NULL,
           total numeric GENERATED ALWAYS AS (amount * qty) STORED, note text)`
      : `CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL NOT NULL, qty INTEGER NOT NULL,
           total REAL GENERATED ALWAYS AS (amount * qty) STORED, twice INTEGER GENERATED ALWAYS AS (qty * 2) VIRTUAL, note TEXT)`,
  )
  const rows = Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, amount: i + 0.5, qty: (i % 4) + 1 }))
  await insertChunked(db.knex, 'orders', rows)
}

const orders = async (db: FreshDatabase) =>
  (await db.knex('orders').orderBy('id').select('id', 'amount', 'qty', 'total', 'note')).map((r: AnyRow) => ({
    id: Number(r.id),
    amount: Number(r.amount),
    qty: Number(r.qty),
    total: Number(r.total),
    note: r.note,
  }))

const run = (db: FreshDatabase, name: string, definition: Omit<MigrationDefinition, 'table'>) =>
  runDefinition(db, name, { table: 'orders', batchSize: 7, ...definition } as MigrationDefinition)

describe('a table with generated columns', () => {
  for (const dialect of dialects) {
    it(`on ${dialect}: a transform returning the whole row writes its changes and leaves the generated columns to the database`, () =>
      withDb(dialect, async (db) => {
        await createOrders(db)
        const result = await run(db, 'notes', {
          pending: (q) => q.whereNull('note'),
          transform: (row) => ({ ...row, note: `order ${String(row.id)}` }),
        })
        assert.equal(result?.state, 'done', String(result?.lastError))
        assert.deepEqual(await failureRows(db.knex, 'notes'), [])
        for (const o of await orders(db)) {
          assert.equal(o.note, `order ${o.id}`)
          assert.equal(o.total, o.amount * o.qty)
        }
      }))

    it(`on ${dialect}: a transform changing a column a generated one is computed from, returning the rest as read, gets the generated value recomputed`, () =>
      withDb(dialect, async (db) => {
        await createOrders(db)
        const result = await run(db, 'double', { transform: (row) => ({ ...row, qty: Number(row.qty) * 2 }) })
        assert.equal(result?.state, 'done', String(result?.lastError))
        for (const o of await orders(db)) {
          assert.equal(o.qty, ((o.id - 1) % 4) * 2 + 2)
          assert.equal(o.total, o.amount * o.qty)
        }
      }))

    it(`on ${dialect}: a transform returning another value for a generated column fails the run at its first batch, naming the column, with nothing written or recorded as failed`, () =>
      withDb(dialect, async (db) => {
        await createOrders(db)
        const before = await orders(db)
        const result = await run(db, 'bad_total', { transform: (row) => ({ ...row, note: 'x', total: 0 }) })
        assert.equal(result?.state, 'failed')
        assert.match(
          String(result?.lastError),
          /^transform of bad_total returned 0 for the generated column "total" of row 1, which holds .*: the database computes "total" and it is never written; return it unchanged or leave it out .*, then `evolve run bad_total`$/,
        )
        assert.deepEqual(await orders(db), before)
        assert.deepEqual(await failureRows(db.knex, 'bad_total'), [])
        const batches = await db.knex('evolve_batches').where({ run_name: 'bad_total' }).select('state')
        assert.ok(!batches.some((b) => b.state === 'split' || b.state === 'failed'), JSON.stringify(batches))
      }))

    it(`on ${dialect}: a set migration setting a generated column is refused before anything runs`, () =>
      withDb(dialect, async (db) => {
        await createOrders(db)
        await assert.rejects(
          run(db, 'set_total', { set: { total: (k) => k.raw('0') } }),
          /field "set\.total" sets the generated column "total" of "orders": the database computes it; set the columns it is computed from instead/,
        )
        assert.equal(await runRow(db.knex, 'set_total'), undefined)
      }))
  }

  it('on postgres: a generated column added while the run goes on is left out of the write-back too', () =>
    withDb('postgres', async (db) => {
      await db.knex.raw('CREATE TABLE orders (id integer PRIMARY KEY, amount integer NOT NULL, qty integer NOT NULL, note text)')
      await insertChunked(
        db.knex,
        'orders',
        Array.from({ length: 40 }, (_, i) => ({ id: i + 1, amount: i, qty: 2 })),
      )
      // Added from another connection once the batch holding row 10 commits: later batches read it.
      let added: Promise<unknown> | undefined
      const result = await runDefinition(db, 'notes', {
        table: 'orders',
        batchSize: 5,
        pending: (q) => q.whereNull('note'),
        transform: (row) => {
          if (row.id === 10)
            added ??= db.knex.raw('ALTER TABLE orders ADD COLUMN total integer GENERATED ALWAYS AS (amount * qty) STORED').then(() => true)
          return { ...row, note: `n${String(row.id)}` }
        },
      })
      await added
      assert.equal(result?.state, 'done', String(result?.lastError))
      assert.deepEqual(await failureRows(db.knex, 'notes'), [])
      const rows = await db.knex('orders').orderBy('id').select('id', 'total', 'note')
      assert.deepEqual(
        rows.map((r) => [Number(r.id), Number(r.total), r.note]),
        Array.from({ length: 40 }, (_, i) => [i + 1, i * 2, `n${i + 1}`]),
      )
      const split = await db.knex('evolve_batches').where({ run_name: 'notes', state: 'split' }).count({ n: '*' }).first()
      assert.equal(Number(split?.n), 0, 'no batch failed over it')
    }))
})
