// The data tables the tests evolve (`users`, `items`), how they are seeded, and how a test
// looks at them or writes to them the way the live app would.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import type { Knex } from 'knex'
import { repoRoot } from './cli.ts'
import { type FreshDatabase, type FreshPostgres, freshPostgres } from './databases.ts'

/** Inserts rows in chunks small enough for SQLite's bound-variable limit. */
export async function insertChunked(knex: Knex, table: string, rows: Record<string, unknown>[], size = 200): Promise<void> {
  for (let i = 0; i < rows.length; i += size) await knex(table).insert(rows.slice(i, i + size))
}

/** Every row of `table` in key order, exactly as the driver returns it. */
export async function rowsOf(knex: Knex, table: string, key = 'id'): Promise<Record<string, unknown>[]> {
  return knex(table).select('*').orderBy(key)
}

export interface UserSeed {
  /** Rows to insert, ids 1..count. */
  count: number
  /** Rows whose e-mail is in the old (mixed-case) shape. Default: every third row. */
  pending?: (id: number) => boolean
  /** Rows flagged `bad` (poison). Default: none. */
  bad?: (id: number) => boolean
}

/** The old shape of a user's e-mail (mixed case) and the new one (lower case). */
export const oldEmail = (id: number) => `User${id}.Name@Example.COM`
export const newEmail = (id: number) => oldEmail(id).toLowerCase()

/**
 * `users (id integer primary key, email, name, dup, counter, bad, touches)`: `dup` is a
 * non-unique column, `counter` counts `up` calls, `touches` counts UPDATEs (see addTouchCounter).
 */
export async function createUsers(db: FreshDatabase, seed: UserSeed): Promise<void> {
  const pending = seed.pending ?? ((id: number) => id % 3 === 0)
  const bad = seed.bad ?? (() => false)
  await db.knex.schema.createTable('users', (t) => {
    t.integer('id').primary()
    t.string('email', 255).notNullable()
    t.string('name', 255)
    t.integer('dup').notNullable().defaultTo(0)
    t.integer('counter').notNullable().defaultTo(0)
    t.boolean('bad').notNullable().defaultTo(false)
    t.integer('touches').notNullable().defaultTo(0)
  })
  const rows = Array.from({ length: seed.count }, (_, i) => {
    const id = i + 1
    return { id, email: pending(id) ? oldEmail(id) : newEmail(id), name: `name ${id}`, dup: id % 4, bad: bad(id) }
  })
  await insertChunked(db.knex, 'users', rows)
}

/** The counters table of the concurrency, crash and pacing tests. */
export const TABLE = 'items'

/** `items(id 1..n, counter 0)`: `counter` counts how often each row was evolved. */
export async function createItems(knex: Knex, rows: number): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.integer('id').primary()
    t.integer('counter').notNullable().defaultTo(0)
  })
  await insertChunked(
    knex,
    TABLE,
    Array.from({ length: rows }, (_, i) => ({ id: i + 1, counter: 0 })),
  )
}

/** How many rows of `items` have each counter value, e.g. `{ 1: 600 }` once every row was evolved once. */
export async function counterHistogram(knex: Knex): Promise<Record<number, number>> {
  const rows: { counter: unknown; n: unknown }[] = await knex(TABLE).select('counter').count({ n: '*' }).groupBy('counter')
  return Object.fromEntries(rows.map((r) => [Number(r.counter), Number(r.n)]))
}

/** The number of keys of `items` in a batch range (lo, hi] as stored in evolve_batches; lo null = from the start. */
export async function keysInRange(knex: Knex, lo: string | null, hi: string | null): Promise<number> {
  const q = knex(TABLE)
  if (lo !== null) q.where('id', '>', JSON.parse(lo) as number)
  if (hi !== null) q.where('id', '<=', JSON.parse(hi) as number)
  const row = await q.count({ n: '*' }).first()
  return Number(row?.n ?? 0)
}

/**
 * Adds a trigger that counts every UPDATE of a row in its `touches` column, so a test can
 * tell "rewritten with the same value" from "never touched".
 */
export async function addTouchCounter(db: FreshDatabase, table: string, key = 'id'): Promise<void> {
  if (db.dialect === 'postgres') {
    await db.knex.raw(`CREATE OR REPLACE FUNCTION evk_count_touch() RETURNS trigger AS $$
      BEGIN NEW.touches := OLD.touches + 1; RETURN NEW; END $$ LANGUAGE plpgsql`)
    await db.knex.raw(`CREATE TRIGGER ${table}_touch BEFORE UPDATE ON "${table}" FOR EACH ROW EXECUTE FUNCTION evk_count_touch()`)
  } else {
    // recursive_triggers is off by default: the trigger's own UPDATE does not fire it again.
    await db.knex.raw(`CREATE TRIGGER ${table}_touch AFTER UPDATE ON "${table}" FOR EACH ROW
      BEGIN UPDATE "${table}" SET touches = OLD.touches + 1 WHERE "${key}" = NEW."${key}"; END`)
  }
}

/**
 * Plays the app: runs one write on its own connection and returns only once it committed.
 * Synchronous, so it can run inside a knex 'query' listener, between two statements of
 * a batch: SQLite through a second better-sqlite3 handle, PostgreSQL through a child process.
 */
export function appWriteSync(db: FreshDatabase, sql: string, bindings: (string | number | null)[] = []): void {
  if (db.dialect === 'sqlite') {
    const conn = new Database(db.file)
    try {
      conn.pragma('busy_timeout = 5000')
      conn.prepare(sql).run(...bindings)
    } finally {
      conn.close()
    }
    return
  }
  const native = db.knex.raw(sql, bindings).toSQL().toNative()
  const script = `
    const pg = require('pg')
    let input = ''
    process.stdin.on('data', (d) => (input += d)).on('end', async () => {
      const { url, sql, bindings } = JSON.parse(input)
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      await client.query(sql, bindings)
      await client.end()
    })`
  const result = spawnSync(process.execPath, ['-e', script], {
    cwd: repoRoot,
    input: JSON.stringify({ url: db.url, sql: native.sql, bindings: native.bindings }),
    encoding: 'utf8',
    timeout: 30_000,
  })
  if (result.status !== 0) throw new Error(`app write failed (${result.status}): ${result.stderr}`)
}

/**
 * A fresh PostgreSQL database whose `items` (`rows` rows) a login role of its own owns, like an
 * app's, that may create tables: `fn` gets the database (as the superuser), the role and its URL,
 * and the superuser's name. The role is dropped afterwards.
 */
export async function withAppRole(
  rows: number,
  fn: (db: FreshPostgres, app: { role: string; url: string }, superuser: string) => Promise<void>,
): Promise<void> {
  const db = await freshPostgres()
  const role = `evk_app_${randomBytes(4).toString('hex')}`
  const url = new URL(db.url)
  Object.assign(url, { username: role, password: 'evk-app-password' })
  try {
    await db.knex.raw(`CREATE ROLE ${role} LOGIN PASSWORD 'evk-app-password'`)
    await db.knex.raw(`GRANT CREATE ON SCHEMA public TO ${role}`)
    await createItems(db.knex, rows)
    await db.knex.raw(`ALTER TABLE items OWNER TO ${role}`)
    const { rows: me } = await db.knex.raw('SELECT current_user AS me')
    await fn(db, { role, url: url.href }, me[0].me)
  } finally {
    await db.knex.raw(`DROP OWNED BY ${role}`).catch(() => {})
    await db.knex.raw(`DROP ROLE IF EXISTS ${role}`).catch(() => {})
    await db.drop()
  }
}
