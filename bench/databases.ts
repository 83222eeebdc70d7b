// The databases a scenario runs on, each reachable two ways: a raw driver connection for the
// baselines and the knex instance evolvekit's CLI would open (same pool and pragmas).
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Knex } from 'knex'
import { connect } from '../lib/config/connect.ts'
import { parseDatabaseUrl } from '../lib/config/parse-url.ts'
import { type DialectName, type Sql, openPostgres, openSqlite } from './sql.ts'

export interface BenchDatabase {
  dialect: DialectName
  /** postgres://… or sqlite:<file>: what `evolve --db` takes. */
  url: string
  sql(): Promise<Sql>
  knex(): Promise<Knex>
  /** Removes what the bench created for it (the SQLite file); the server's database is dropped by its owner. */
  remove(): Promise<void>
}

async function evolvekitKnex(url: string): Promise<Knex> {
  const { client, connection } = parseDatabaseUrl(url, process.cwd(), 'bench')
  const { knex } = await connect({ client, connection, migrationsDir: '', source: 'bench', run: {} })
  return knex
}

export function postgresDatabase(url: string): BenchDatabase {
  return { dialect: 'postgres', url, sql: () => openPostgres(url), knex: () => evolvekitKnex(url), remove: async () => {} }
}

export async function sqliteDatabase(): Promise<BenchDatabase> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evk-bench-sqlite-'))
  const file = path.join(dir, 'bench.db')
  const url = `sqlite:${file}`
  return {
    dialect: 'sqlite',
    url,
    sql: async () => openSqlite(file),
    knex: () => evolvekitKnex(url),
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}

/** Runs `fn` with a fresh raw connection and closes it afterwards. */
export async function withSql<T>(db: BenchDatabase, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = await db.sql()
  try {
    return await fn(sql)
  } finally {
    await sql.close()
  }
}

export async function withKnex<T>(db: BenchDatabase, fn: (knex: Knex) => Promise<T>): Promise<T> {
  const knex = await db.knex()
  try {
    return await fn(knex)
  } finally {
    await knex.destroy()
  }
}
