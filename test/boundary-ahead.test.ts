// The next range's boundary is searched while the batch before runs (PostgreSQL: on another
// connection). A search ahead may only save time: whatever it answers must be what a fresh
// search finds at that cursor and size, and a search for another cursor, phase or size, or
// one that failed, must not be used at all.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { parseMigration } from '../lib/config/migration-schema.ts'
import { boundaryAhead, searchAhead } from '../lib/core/boundary-ahead.ts'
import { type WorkerContext, RUN_DEFAULTS } from '../lib/core/context.ts'
import { nextBoundary } from '../lib/core/planner.ts'
import { postgresDialect } from '../lib/dialects/postgres/index.ts'
import { defineMigration } from '../lib/index.ts'
import { encodeKey } from '../lib/store/db.ts'
import type { Run } from '../lib/store/runs.ts'
import { withDb } from './helpers/databases.ts'

const ROWS = 120

function contextFor(knex: Knex, definition: Parameters<typeof defineMigration>[0], batchSize?: number): WorkerContext {
  const migration = parseMigration('ahead', 'ahead.ts', defineMigration(definition))
  return { knex, migration, dialect: postgresDialect, options: { ...RUN_DEFAULTS, batchSize } } as unknown as WorkerContext
}

const runAt = (cursor: unknown, phase: Run['phase'] = 'scan', sweepPass = 0) =>
  ({ name: 'ahead', cursor: cursor === undefined ? null : encodeKey(cursor), phase, sweepPass }) as Run

/** Every size a search ahead from `from` answers, checked against a fresh search; returns the sizes answered. */
async function answeredSizes(ctx: WorkerContext, from: unknown, size: number, phase: Run['phase'] = 'scan'): Promise<number[]> {
  const answered: number[] = []
  for (let asked = 1; asked <= ROWS; asked++) {
    searchAhead(ctx, runAt(undefined, phase), from, size)
    const ahead = await boundaryAhead(ctx, runAt(from, phase), asked)
    if (ahead === undefined) continue
    answered.push(asked)
    assert.deepEqual(ahead, await nextBoundary(ctx.knex, ctx.migration, from, asked, phase === 'sweep'), `size ${asked}`)
  }
  return answered
}

describe('the boundary searched ahead', { concurrency: 2 }, () => {
  it('answers the size just used and the sizes near it exactly as a fresh search, on integer and composite keys', () =>
    withDb('postgres', async (db) => {
      // Gaps in the keys: a boundary is found by counting rows, never by adding to a key.
      await db.knex.raw(`CREATE TABLE items (id integer PRIMARY KEY, tenant integer NOT NULL, code text NOT NULL, name text NOT NULL)`)
      await db.knex.raw(`CREATE UNIQUE INDEX items_tenant_code ON items (tenant, code)`)
      const rows = Array.from({ length: ROWS }, (_, i) => ({
        id: i * 3 + 1,
        tenant: i % 4,
        code: `c${String(i).padStart(3, '0')}`,
        name: 'x',
      }))
      await db.knex('items').insert(rows)
      const single = contextFor(db.knex, { table: 'items', transform: (r) => r })
      const sizes = await answeredSizes(single, 31, 20)
      assert.ok(sizes.includes(20) && sizes.length >= 3, `answered ${sizes.join(', ')}`)
      const composite = contextFor(db.knex, { table: 'items', key: ['tenant', 'code'], transform: (r) => r })
      assert.ok((await answeredSizes(composite, [1, 'c041'], 12)).includes(12))
    }))

  it('answers the end of the table, and in a sweep counts only pending rows, as a fresh search does', () =>
    withDb('postgres', async (db) => {
      await db.knex.raw(`CREATE TABLE items (id integer PRIMARY KEY, email text NOT NULL)`)
      await db.knex('items').insert(Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, email: i % 3 === 0 ? 'UPPER' : 'lower' })))
      const ctx = contextFor(db.knex, { table: 'items', pending: (q) => q.whereRaw('email <> lower(email)'), transform: (r) => r })
      // 100 is 20 rows from the end: sizes past it end the table (full: false).
      const tail = await answeredSizes(ctx, 100, 19)
      assert.ok(tail.includes(21), `answered ${tail.join(', ')}`)
      searchAhead(ctx, runAt(undefined), 100, 19)
      assert.deepEqual(await boundaryAhead(ctx, runAt(100), 21), { key: ROWS, full: false })
      assert.ok((await answeredSizes(ctx, 10, 8, 'sweep')).includes(8))
    }))

  it('is not used for another cursor, phase, sweep pass or a size outside what it searched, and only once', () =>
    withDb('postgres', async (db) => {
      await db.knex.raw(`CREATE TABLE items (id integer PRIMARY KEY)`)
      await db.knex('items').insert(Array.from({ length: ROWS }, (_, i) => ({ id: i + 1 })))
      const ctx = contextFor(db.knex, { table: 'items', transform: (r) => r })
      const cases: [string, Run, number][] = [
        ['the cursor moved on (another worker claimed)', runAt(50), 20],
        ['the sweep began', runAt(40, 'sweep', 1), 20],
        ['a size far larger', runAt(40), 60],
        ['a size far smaller', runAt(40), 2],
      ]
      for (const [why, run, size] of cases) {
        searchAhead(ctx, runAt(undefined), 40, 20)
        assert.equal(await boundaryAhead(ctx, run, size), undefined, why)
      }
      searchAhead(ctx, runAt(undefined), 40, 20)
      assert.deepEqual(await boundaryAhead(ctx, runAt(40), 20), { key: 60, full: true })
      assert.equal(await boundaryAhead(ctx, runAt(40), 20), undefined, 'a search is used once')
      // A fixed batch size never changes: nothing else is searched.
      const fixed = contextFor(db.knex, { table: 'items', transform: (r) => r }, 20)
      assert.deepEqual(await answeredSizes(fixed, 40, 20), [20])
    }))

  it('is dropped when it failed, with nothing left unhandled', () =>
    withDb('postgres', async (db) => {
      const ctx = contextFor(db.knex, { table: 'no_such_table', transform: (r) => r })
      searchAhead(ctx, runAt(undefined), 1, 10)
      assert.equal(await boundaryAhead(ctx, runAt(1), 10), undefined)
    }))
})
