// Key refusals say what does work: a time-partitioned PostgreSQL table has no key evolvekit can
// use on its parent, and a role without SELECT is told which grant it lacks, not that its key
// type cannot be ordered.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { output, runCli } from './helpers/cli.ts'
import { type FreshPostgres, withDb } from './helpers/databases.ts'
import { migrationSource, runRow, writeFiles } from './helpers/fixtures.ts'

const ROWS = 40

/** `events`, partitioned by range on a timestamptz, its primary key (id, created_at): two leaf partitions. */
async function createEvents(db: FreshPostgres): Promise<void> {
  await db.knex.raw(`CREATE TABLE events (id integer NOT NULL, created_at timestamptz NOT NULL, name text NOT NULL,
                       PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)`)
  await db.knex.raw(`CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`)
  await db.knex.raw(`CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')`)
  // Microseconds, and ids in both partitions interleaved.
  await db.knex.raw(
    `INSERT INTO events SELECT i, timestamptz '2026-01-10 00:00:00.000001+00' + i * interval '1 day 1 microsecond', 'event ' || i
       FROM generate_series(1, ${ROWS}) AS i`,
  )
}

const exclaim = (table: string, key: unknown) =>
  migrationSource(
    `{ table: '${table}', key: ${JSON.stringify(key)}, pending: (q) => q.whereNot('name', 'like', '%!'), transform: (row) => ({ name: row.name + '!' }) }`,
  )

describe('keys of a time-partitioned table', () => {
  it('the partition key in the key is refused for its date/time type, saying to migrate each leaf partition with a unique index of its own', () =>
    withDb('postgres', async (db) => {
      await createEvents(db as FreshPostgres)
      const dir = await writeFiles({ '001_events.ts': exclaim('events', ['id', 'created_at']) })
      const result = await runCli(['run', '--db', db.url, '--dir', dir])
      assert.equal(result.code, 2, output(result))
      assert.match(
        result.stderr,
        /001_events\.ts: key column "created_at" of "events" has the date\/time type timestamp with time zone \(field "key"\): batch bounds of such a key do not survive being stored; "events" is partitioned by "created_at", which every unique key of it must hold; migrate each leaf partition of "events" as a table of its own: give it a unique index on a NOT NULL number, text, uuid or bytes column \(CREATE UNIQUE INDEX ON <partition> \(id\)\) and write one migration per partition with that column as key/,
      )
      assert.doesNotMatch(result.stderr, /use the primary key/)
    }))

  it('a key without the partition key is refused as not unique, with the same advice', () =>
    withDb('postgres', async (db) => {
      await createEvents(db as FreshPostgres)
      const dir = await writeFiles({ '001_events.ts': exclaim('events', 'id') })
      const result = await runCli(['run', '--db', db.url, '--dir', dir])
      assert.equal(result.code, 2, output(result))
      assert.match(
        result.stderr,
        /001_events\.ts: key column "id" of "events" is not unique \(field "key"\): "events" is partitioned by "created_at", which every unique key of it must hold; migrate each leaf partition of "events" as a table of its own/,
      )
    }))

  it('what the advice says works: one migration per leaf partition, keyed by a unique index on id, evolves every row once', () =>
    withDb('postgres', async (db) => {
      await createEvents(db as FreshPostgres)
      await db.knex.raw('CREATE UNIQUE INDEX ON events_2026_01 (id)')
      await db.knex.raw('CREATE UNIQUE INDEX ON events_2026_02 (id)')
      const dir = await writeFiles({
        '001_events_2026_01.ts': exclaim('events_2026_01', 'id'),
        '002_events_2026_02.ts': exclaim('events_2026_02', 'id'),
      })
      const result = await runCli(['run', '--db', db.url, '--dir', dir, '--batch-size', '7'])
      assert.equal(result.code, 0, output(result))
      assert.equal((await runRow(db.knex, '001_events_2026_01'))?.state, 'done')
      assert.equal((await runRow(db.knex, '002_events_2026_02'))?.state, 'done')
      const names: string[] = await db.knex('events').orderBy('id').pluck('name')
      assert.deepEqual(
        names,
        Array.from({ length: ROWS }, (_, i) => `event ${i + 1}!`),
      )
    }))
})

describe('a role that may not read the table', () => {
  it('is told it lacks SELECT on it (by SQLSTATE 42501), not that the key cannot be ordered', () =>
    withDb('postgres', async (db) => {
      const role = `evk_noread_${randomBytes(4).toString('hex')}`
      await db.knex.raw('CREATE TABLE orders (id integer PRIMARY KEY, note text)')
      await db.knex.raw("INSERT INTO orders VALUES (1, 'a'), (2, 'b')")
      try {
        await db.knex.raw(`CREATE ROLE ${role} LOGIN PASSWORD 'evk-noread'`)
        await db.knex.raw(`GRANT CREATE ON SCHEMA public TO ${role}`)
        await db.knex.raw(`GRANT UPDATE ON orders TO ${role}`) // no SELECT
        const url = new URL(db.url)
        Object.assign(url, { username: role, password: 'evk-noread' })
        const dir = await writeFiles({
          '001_notes.ts': migrationSource(`{ table: 'orders', transform: (row) => ({ note: row.note + '!' }) }`),
        })
        const result = await runCli(['run', '--db', url.href, '--dir', dir])
        assert.equal(result.code, 2, output(result))
        assert.match(
          result.stderr,
          /001_notes\.ts: the role evolvekit runs as lacks SELECT on "orders" \(42501, insufficient privilege, reading key column "id"\): grant it SELECT and UPDATE on "orders", which every run needs/,
        )
        assert.doesNotMatch(result.stderr, /cannot be ordered|btree/)
      } finally {
        await db.knex.raw(`DROP OWNED BY ${role}`).catch(() => {})
        await db.knex.raw(`DROP ROLE IF EXISTS ${role}`).catch(() => {})
      }
    }))
})
