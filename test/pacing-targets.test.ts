// SQLite pacing follows who else writes: batches aim at the short target while another connection
// commits, at the quiet one once nobody has for a second, counted from the WAL file's last write
// before evolvekit opened the database (lib/core/worker.ts aimForContention, others-wrote.ts).
// Targets of 1 ms and one minute make the outcome independent of the machine's speed: at 1 ms a
// batch can never grow (no batch is faster than 1 ms), at a minute it takes the rest at once.
import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import knex, { type Knex } from 'knex'
import { parseMigration } from '../lib/config/migration-schema.ts'
import { sqliteDeferCheckpoint } from '../lib/dialects/sqlite/checkpoint.ts'
import { sqliteOthersWroteAt } from '../lib/dialects/sqlite/others-wrote.ts'
import { Runner, defineMigration } from '../lib/index.ts'
import { type FreshSqlite, evolvekitKnex, fresh, runnerKnex, walWrittenAt } from './helpers/databases.ts'
import { TABLE, batchRows, counterHistogram, createItems } from './helpers/fixtures.ts'

const ROWS = 2000
const START = 20

function migration(name: string) {
  const definition = defineMigration({ table: TABLE, batchSize: START, set: { counter: (k) => k.raw('counter + 1') } })
  return parseMigration(name, `test:${name}`, definition)
}

/** Scan batches' sizes after one run with a 1 ms target while others write, a minute while alone. */
async function runAndSize(db: FreshSqlite, name: string, conn: Knex = runnerKnex(db), maxRowsPerSecond?: number): Promise<number[]> {
  try {
    const pace = { targetBatchMs: 1, quietTargetBatchMs: 60_000, maxRowsPerSecond }
    const runner = new Runner({ knex: conn, migrations: [migration(name)], ...pace })
    const [result] = await runner.run()
    assert.equal(result?.state, 'done')
  } finally {
    await conn.destroy()
  }
  return (await batchRows(db.knex, name)).filter((b) => b.phase === 'scan').map((b) => b.rows)
}

describe("SQLite batches and the app's writes", () => {
  let db: FreshSqlite
  before(async () => {
    db = await fresh('sqlite')
    await db.knex.schema.createTable('app_log', (t) => {
      t.increments('id')
      t.integer('n')
    })
  })
  after(() => db.drop())

  it("tells another connection's commits from its own, and answers now when it cannot know", async () => {
    const mine = knex({ client: 'better-sqlite3', connection: { filename: db.file }, useNullAsDefault: true, pool: { min: 1, max: 1 } })
    try {
      const started = Date.now()
      const first = await sqliteOthersWroteAt(mine)
      assert.ok(first >= started, 'a knex evolvekit did not open: unknown, so now')
      assert.equal(await sqliteOthersWroteAt(mine), first, 'nobody wrote')
      await mine('app_log').insert({ n: 1 })
      assert.equal(await sqliteOthersWroteAt(mine), first, 'its own commit does not count')
      const beforeApp = Date.now()
      await db.knex('app_log').insert({ n: 2 })
      const seen = await sqliteOthersWroteAt(mine)
      assert.ok(seen >= beforeApp, "another connection's commit counts, as now")
      assert.equal(await sqliteOthersWroteAt(mine), seen, 'once')
    } finally {
      await mine.destroy()
    }
  })

  it('answers, on its first call, when the WAL was last written before evolvekit opened the file', async () => {
    const tenSecondsAgo = Date.now() - 10_000
    await walWrittenAt(db, tenSecondsAgo)
    const conn = await evolvekitKnex(db)
    try {
      await conn('app_log').insert({ n: 3 }) // its own write, after it opened
      assert.equal(Math.round(await sqliteOthersWroteAt(conn)), Math.round(tenSecondsAgo))
    } finally {
      await conn.destroy()
    }
  })

  it('answers now on its first call when another connection committed after evolvekit opened the file', async () => {
    await walWrittenAt(db, Date.now() - 10_000)
    const conn = await evolvekitKnex(db)
    try {
      const beforeApp = Date.now()
      await db.knex('app_log').insert({ n: 4 }) // the app, between the open and the first batch
      assert.ok((await sqliteOthersWroteAt(conn)) >= beforeApp, 'the WAL time at open no longer tells')
    } finally {
      await conn.destroy()
    }
  })

  it('aims at the quiet target from the first batches when nobody wrote the file for a second before the run', async () => {
    await db.knex.schema.dropTableIfExists(TABLE)
    await createItems(db.knex, ROWS)
    await walWrittenAt(db, Date.now() - 10_000)
    const sizes = await runAndSize(db, 'quiet_start', await evolvekitKnex(db))
    assert.ok(sizes[1]! > START, `the second batch already grew past ${START}: sizes ${sizes.join(',')}`)
    assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
  })

  it('keeps to the short target when the WAL shows a write by someone else at the start', async () => {
    await db.knex.schema.dropTableIfExists(TABLE)
    await createItems(db.knex, 200)
    await walWrittenAt(db, Date.now() + 60_000) // as recent as can be: for the whole run
    const sizes = await runAndSize(db, 'busy_start', await evolvekitKnex(db))
    assert.ok(
      sizes.every((n) => n <= START),
      `no batch grew past ${START}: sizes ${sizes.join(',')}`,
    )
  })

  it('puts the WAL checkpoint a batch commit would run off to the pause after it, then turns autocheckpoint on again', async () => {
    await db.knex.schema.createTable('wal_filler', (t) => {
      t.integer('id').primary()
      t.text('body')
    })
    const conn = await evolvekitKnex(db)
    try {
      const checkpoint = await sqliteDeferCheckpoint(conn)
      const before = (await stat(db.file)).size
      // 6 MB: past the 1,000 pages (4 MB) at which a commit checkpoints.
      await conn.transaction(async (trx) => {
        for (let i = 0; i < 30; i++) {
          const rows = Array.from({ length: 1000 }, (_, j) => ({ id: i * 1000 + j, body: 'x'.repeat(200) }))
          await trx.batchInsert('wal_filler', rows, 250)
        }
      })
      assert.equal((await stat(db.file)).size, before, 'the commit copied nothing into the database file')
      await checkpoint()
      assert.ok((await stat(db.file)).size > before + 4_000_000, 'the checkpoint did')
      const [setting] = (await conn.raw('PRAGMA wal_autocheckpoint')) as { wal_autocheckpoint: number }[]
      assert.equal(setting?.wal_autocheckpoint, 1000)
    } finally {
      await conn.destroy()
    }
  })

  it('grows batches to the quiet target when nobody else writes', async () => {
    await db.knex.schema.dropTableIfExists(TABLE)
    await createItems(db.knex, ROWS)
    // 1,000 rows a second: the run outlasts the quiet second however short its pauses are.
    const sizes = await runAndSize(db, 'alone', runnerKnex(db), 1000)
    assert.ok(Math.max(...sizes) > START, `a batch grew past ${START} once alone: sizes ${sizes.join(',')}`)
    assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
  })

  it('keeps batches at the short target while another connection keeps writing', async () => {
    await db.knex.schema.dropTableIfExists(TABLE)
    await createItems(db.knex, ROWS)
    // The app: a write every millisecond; it gets in during the pauses between batches. What the
    // short target needs is a commit by someone else within every second of the run (the quiet
    // rule's second), so that is what is checked: not how many writes were sent.
    const commits: number[] = []
    let sent = 0
    const app = setInterval(() => {
      db.knex('app_log')
        .insert({ n: ++sent })
        .then(() => commits.push(Date.now()))
        .catch(() => {})
    }, 1)
    const started = Date.now()
    let sizes: number[]
    try {
      sizes = await runAndSize(db, 'busy')
    } finally {
      clearInterval(app)
    }
    const ended = Date.now()
    const times = [started, ...commits.filter((t) => t <= ended), ended]
    const longestGap = Math.max(...times.slice(1).map((t, i) => t - times[i]!))
    assert.ok(longestGap < 1000, `the app committed within every second of the run (longest gap ${longestGap} ms)`)
    assert.ok(
      sizes.every((n) => n <= START),
      `no batch grew past ${START} while the app wrote: sizes ${sizes.join(',')}`,
    )
    assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
  })
})

describe('the rows one batch may span', () => {
  // What each mode holds sets its default maxBatchSize: set nothing (1,000,000), transform its
  // rows as objects (100,000), up its rows handed to code that may bind every key (20,000).
  const cases = [
    { mode: 'set', rows: 100_100, first: 100_100, says: 'lets a set batch, which holds no rows, span' },
    {
      mode: 'transform',
      rows: 100_100,
      first: 100_000,
      says: 'holds a transform batch, whose rows are objects in memory, to 100,000 rows of',
    },
    { mode: 'up', rows: 20_100, first: 20_000, says: "holds an up batch, whose rows go to the migration's code, to 20,000 rows of" },
  ] as const
  for (const { mode, rows, first, says } of cases) {
    it(`${says} a table when no maxBatchSize is given`, async () => {
      const db = await fresh('sqlite')
      const conn = runnerKnex(db)
      try {
        await createItems(db.knex, rows)
        const definition =
          mode === 'set'
            ? defineMigration({ table: TABLE, batchSize: rows, set: { counter: (k) => k.raw('counter + 1') } })
            : mode === 'transform'
              ? defineMigration({ table: TABLE, batchSize: rows, transform: (row) => ({ counter: Number(row.counter) + 1 }) })
              : defineMigration({
                  table: TABLE,
                  batchSize: rows,
                  up: async (batch, { trx }) => {
                    const ids = batch.map((r) => r.id as number)
                    await trx(TABLE)
                      .where('id', '>=', Math.min(...ids))
                      .andWhere('id', '<=', Math.max(...ids))
                      .increment('counter', 1)
                  },
                })
        // A one-minute target: no batch is slow enough to shrink the size.
        const runner = new Runner({ knex: conn, migrations: [parseMigration(mode, `test:${mode}`, definition)], targetBatchMs: 60_000 })
        const [result] = await runner.run()
        assert.equal(result?.state, 'done')
        const batch = (await batchRows(db.knex, mode)).find((b) => b.phase === 'scan')!
        assert.equal(batch.rows, first)
        assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
      } finally {
        await conn.destroy()
        await db.drop()
      }
    })
  }
})
