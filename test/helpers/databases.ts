// Every test gets its own database so files can run in parallel and leave nothing behind.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, utimes } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import knex, { type Knex } from 'knex'
import pg from 'pg'
import { connect } from '../../lib/config/connect.ts'
import { parseMigration } from '../../lib/config/migration-schema.ts'
import { parseDatabaseUrl } from '../../lib/config/parse-url.ts'
import { type MigrationDefinition, type RunProgress, Runner } from '../../lib/index.ts'

export const dialects = ['postgres', 'sqlite'] as const
export type Dialect = (typeof dialects)[number]

export interface FreshPostgres {
  dialect: 'postgres'
  /** postgres://… URL of the new database, to hand to the CLI or library. */
  url: string
  /** Connection for assertions. */
  knex: Knex
  /** Destroys `knex` and drops the database, even if something is still connected. */
  drop(): Promise<void>
}

export interface FreshSqlite {
  dialect: 'sqlite'
  /** sqlite:<absolute path> */
  url: string
  file: string
  knex: Knex
  /** Destroys `knex` and removes the temp dir (db, -wal and -shm files). */
  drop(): Promise<void>
}

export type FreshDatabase = FreshPostgres | FreshSqlite

function serverUrl(): string {
  const url = process.env.DATABASE_URL
  if (!url) throw new Error('DATABASE_URL is not set: run tests through npm test')
  return url
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl() })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

export async function freshPostgres(): Promise<FreshPostgres> {
  const name = `evk_${randomBytes(6).toString('hex')}`
  await admin(`CREATE DATABASE ${name}`)
  const url = new URL(serverUrl())
  url.pathname = `/${name}`
  const db = knex({ client: 'pg', connection: url.href, pool: { min: 0, max: 5 } })
  return {
    dialect: 'postgres',
    url: url.href,
    knex: db,
    async drop() {
      await db.destroy()
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    },
  }
}

export async function freshSqlite(): Promise<FreshSqlite> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evk-sqlite-'))
  const file = path.join(dir, 'test.db')
  const db = knex({
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
    pool: {
      // Tests read while a CLI child process writes the same file: WAL lets readers proceed,
      // busy_timeout waits out the writer's lock instead of failing with SQLITE_BUSY.
      afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
        try {
          conn.pragma('journal_mode = WAL')
          conn.pragma('busy_timeout = 5000')
          done(null, conn)
        } catch (error) {
          done(error as Error, conn)
        }
      },
    },
  })
  return {
    dialect: 'sqlite',
    url: `sqlite:${file}`,
    file,
    knex: db,
    async drop() {
      await db.destroy()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export function fresh(dialect: 'postgres'): Promise<FreshPostgres>
export function fresh(dialect: 'sqlite'): Promise<FreshSqlite>
export function fresh(dialect: Dialect): Promise<FreshDatabase>
export function fresh(dialect: Dialect): Promise<FreshDatabase> {
  return dialect === 'postgres' ? freshPostgres() : freshSqlite()
}

/** A second connection for an in-process Runner, the way the CLI would open one. */
export function runnerKnex(db: FreshDatabase): Knex {
  return db.dialect === 'postgres'
    ? knex({ client: 'pg', connection: db.url, pool: { min: 0, max: 5 } })
    : knex({ client: 'better-sqlite3', connection: { filename: db.file }, useNullAsDefault: true })
}

/** Runs one migration definition in this process as `name`, on its own connection: how its run ended. */
export async function runDefinition(db: FreshDatabase, name: string, definition: MigrationDefinition): Promise<RunProgress | undefined> {
  const conn = runnerKnex(db)
  try {
    const [result] = await new Runner({ knex: conn, migrations: [parseMigration(name, `test:${name}`, definition)] }).run()
    return result
  } finally {
    await conn.destroy()
  }
}

/** A SQLite connection opened as the CLI opens one: it notes when the file's WAL was last written. */
export async function evolvekitKnex(db: FreshSqlite): Promise<Knex> {
  const { client, connection } = parseDatabaseUrl(db.url, process.cwd(), 'test')
  return (await connect({ client, connection, migrationsDir: '', source: 'test', run: {} })).knex
}

/** Sets the WAL's modification time: when, as far as a connection opening now can tell, someone last wrote. */
export async function walWrittenAt(db: FreshSqlite, ms: number): Promise<void> {
  await utimes(`${db.file}-wal`, new Date(ms), new Date(ms))
}

/** A fresh database for the duration of `fn`, dropped afterwards even if `fn` throws. */
export async function withDb<T>(dialect: Dialect, fn: (db: FreshDatabase) => Promise<T>): Promise<T> {
  const db = await fresh(dialect)
  try {
    return await fn(db)
  } finally {
    await db.drop()
  }
}
