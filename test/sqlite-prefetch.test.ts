// On SQLite, while nobody else writes, a transform batch reads its rows before its transaction
// takes the file's one write lock, and uses them only if nothing was committed since: by another
// connection, or through evolvekit's own (lib/core/prefetch.ts, dialects/sqlite/commit-stamp.ts).
import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import type { Knex } from 'knex'
import { parseMigration } from '../lib/config/migration-schema.ts'
import { Runner, defineMigration } from '../lib/index.ts'
import { type FreshSqlite, evolvekitKnex, fresh, walWrittenAt } from './helpers/databases.ts'
import { TABLE, appWriteSync, batchRows, counterHistogram, createItems } from './helpers/fixtures.ts'

const ROWS = 2000

interface QueryData {
  sql: string
  __knexTxId?: string
}

/** The reads of a batch's rows: the key and the declared column, never a count or a boundary search. */
const isRowRead = (sql: string) => /^select `id`, `counter` from `items`/.test(sql) && !/offset/.test(sql)

/**
 * True when a batch of 100 read its rows again under the lock, a third of them (34): it was
 * sized to hold the lock only to write, and the rest went back as a pending batch.
 */
async function cutToAThird(db: FreshSqlite, name: string): Promise<boolean> {
  return (await batchRows(db.knex, name)).some((b) => b.phase === 'scan' && b.rows === 34)
}

/** Batches of 100 rows, adaptive (the size kept between bounds of 100) or fixed as `--batch-size 100` fixes it. */
const PINNED = { minBatchSize: 100, maxBatchSize: 100 }
const FIXED = { batchSize: 100 }

async function run(conn: Knex, name: string, size: typeof PINNED | typeof FIXED = PINNED, heartbeatMs = 600_000): Promise<void> {
  const definition = defineMigration({
    table: TABLE,
    pending: (q) => q.where('counter', 0),
    columns: ['counter'],
    transform: (row) => ({ counter: Number(row.counter) + 1 }),
  })
  // Batches of 100 rows: 20 batches whatever the machine's speed. No heartbeat during the run
  // unless asked: the tests below count the reads of rows, and the app's writes, exactly.
  const migrations = [parseMigration(name, `test:${name}`, definition)]
  const runner = new Runner({ knex: conn, migrations, ...size, heartbeatMs })
  const [result] = await runner.run()
  assert.equal(result?.state, 'done')
}

describe('SQLite transform batches that read their rows before taking the write lock', () => {
  let db: FreshSqlite
  let conn: Knex
  const reads = { outside: 0, inside: 0, insideAfterOutside: 0 }
  before(async () => {
    db = await fresh('sqlite')
  })
  after(() => db.drop())
  beforeEach(async () => {
    await db.knex.schema.dropTableIfExists(TABLE)
    await createItems(db.knex, ROWS)
    // Nobody wrote the file for ten seconds: from the second batch on, batches aim at the quiet target.
    await walWrittenAt(db, Date.now() - 10_000)
    conn = await evolvekitKnex(db)
    Object.assign(reads, { outside: 0, inside: 0, insideAfterOutside: 0 })
    conn.on('query', ({ sql, __knexTxId }: QueryData) => {
      if (!isRowRead(sql)) return
      if (__knexTxId === undefined) reads.outside++
      else if (reads.outside > 0) reads.insideAfterOutside++
      else reads.inside++
    })
  })

  it('reads them outside the transaction once nobody else writes, and never again under the lock', async () => {
    try {
      await run(conn, 'quiet')
    } finally {
      await conn.destroy()
    }
    assert.ok(reads.outside > 0, 'batches read their rows before their transaction')
    assert.equal(reads.insideAfterOutside, 0, 'no batch read its rows again under the lock')
    assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
  })

  it("is not made to read them again by the runner's own heartbeat, written through the same connection", async () => {
    const beats: string[] = []
    conn.on('query', ({ sql }: QueryData) => {
      if (/^update `evolve_workers` set/.test(sql)) beats.push(sql)
    })
    try {
      await run(conn, 'heartbeats', PINNED, 2) // a heartbeat every 2 ms: one would fall after nearly every early read
    } finally {
      await conn.destroy()
    }
    assert.ok(beats.length > 20, `the runner wrote its heartbeat during the run (${beats.length} times)`)
    assert.ok(reads.outside > 0, 'batches read their rows before their transaction')
    assert.equal(reads.insideAfterOutside, 0, 'no batch read its rows again under the lock')
    assert.ok(!(await cutToAThird(db, 'heartbeats')), 'no batch was cut')
    assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
  })

  // The app changes a row of the batch right after the batch read it, before the batch's transaction.
  const writers = [
    {
      says: 'on its own connection',
      name: 'app_connection',
      write: () => (id: number) => appWriteSync(db, `UPDATE ${TABLE} SET counter = 10 WHERE id = ?`, [id]),
    },
    {
      says: "through evolvekit's own connection (the admin object's knex)",
      name: 'shared_connection',
      write: async () => {
        // The runner's one connection, used between two of its statements as an app in the same process could.
        const client = conn.client as { acquireConnection(): Promise<Native>; releaseConnection(c: Native): Promise<unknown> }
        const native = await client.acquireConnection()
        await client.releaseConnection(native)
        return (id: number) => native.prepare(`UPDATE ${TABLE} SET counter = 10 WHERE id = ?`).run(id)
      },
    },
  ]
  for (const { says, name, write } of writers) {
    it(`reads them again under the lock when the app wrote ${says} since, and keeps the app's value`, async () => {
      const appWrite = await write()
      let changed: number | undefined
      conn.on('query-response', (rows: { id: number }[], { sql, __knexTxId }: QueryData) => {
        if (changed !== undefined || __knexTxId !== undefined || !isRowRead(sql) || rows.length < 2) return
        changed = rows[rows.length - 1]!.id
        appWrite(changed) // no longer pending: a stale write would put back counter = 1
      })
      try {
        await run(conn, name)
      } finally {
        await conn.destroy()
      }
      assert.ok(changed !== undefined, 'the app wrote between a read and its batch')
      assert.ok(reads.insideAfterOutside > 0, 'that batch read its rows again under the lock')
      assert.ok(await cutToAThird(db, name), 'a third of them, the rest queued')
      const [row] = await db.knex(TABLE).where({ id: changed })
      assert.equal(row.counter, 10, "the app's value is kept")
      assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS - 1, 10: 1 })
    })
  }

  it("retries the batch when the app writes between the check and the batch's first write, and keeps the app's value", async () => {
    // The check reads in the batch's transaction; the next statement is the batch's busy timeout,
    // then its first write. The app commits right before that statement: the first write must
    // fail (SQLite's snapshot rule), and the retry reads the rows under the lock.
    let changed: number | undefined
    let lastRead: number | undefined
    conn.on('query-response', (rows: { id: number }[], { sql, __knexTxId }: QueryData) => {
      if (__knexTxId === undefined && isRowRead(sql) && rows.length > 1) lastRead = rows[rows.length - 1]!.id
    })
    conn.on('query', ({ sql, __knexTxId }: QueryData) => {
      if (changed !== undefined || lastRead === undefined || __knexTxId === undefined || !/^PRAGMA busy_timeout/.test(sql)) return
      changed = lastRead
      appWriteSync(db, `UPDATE ${TABLE} SET counter = 10 WHERE id = ?`, [changed])
    })
    try {
      await run(conn, 'between_check_and_write')
    } finally {
      await conn.destroy()
    }
    assert.ok(changed !== undefined, 'the app wrote between the check and a first write')
    const retried = await db.knex('evolve_batches').where({ run_name: 'between_check_and_write' }).andWhere('retries', '>', 0)
    assert.equal(retried.length, 1, 'that batch failed its first write and was tried again')
    assert.ok(await cutToAThird(db, 'between_check_and_write'), 'reading a third of its rows under the lock')
    const [row] = await db.knex(TABLE).where({ id: changed })
    assert.equal(row.counter, 10, "the app's value is kept")
    assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS - 1, 10: 1 })
  })

  it('reads all of a fixed-size batch again under the lock when the app wrote since: --batch-size is kept exactly', async () => {
    let changed: number | undefined
    conn.on('query-response', (rows: { id: number }[], { sql, __knexTxId }: QueryData) => {
      if (changed !== undefined || __knexTxId !== undefined || !isRowRead(sql) || rows.length < 2) return
      changed = rows[rows.length - 1]!.id
      appWriteSync(db, `UPDATE ${TABLE} SET counter = 10 WHERE id = ?`, [changed])
    })
    try {
      await run(conn, 'fixed', FIXED)
    } finally {
      await conn.destroy()
    }
    assert.ok(changed !== undefined, 'the app wrote between a read and its batch')
    assert.ok(reads.insideAfterOutside > 0, 'that batch read its rows again under the lock')
    const scan = (await batchRows(db.knex, 'fixed')).filter((b) => b.phase === 'scan')
    // Twenty batches of 100 keys, none cut: the one holding the app's row evolved the other 99.
    assert.deepEqual(
      scan.map((b) => b.rows).sort((a, b) => a - b),
      [99, ...Array(ROWS / 100 - 1).fill(100)],
    )
    const [row] = await db.knex(TABLE).where({ id: changed })
    assert.equal(row.counter, 10, "the app's value is kept")
    assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS - 1, 10: 1 })
  })

  it('reads them under the lock while another connection keeps writing', async () => {
    await db.knex.schema.dropTableIfExists('app_log')
    await db.knex.schema.createTable('app_log', (t) => t.increments('id'))
    const app = setInterval(() => {
      db.knex('app_log')
        .insert({})
        .catch(() => {})
    }, 1)
    try {
      await run(conn, 'busy')
    } finally {
      clearInterval(app)
      await conn.destroy()
    }
    assert.equal(reads.outside, 0, 'no batch read its rows before its transaction')
    assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
  })
})

interface Native {
  prepare(sql: string): { run(...params: unknown[]): unknown }
}
