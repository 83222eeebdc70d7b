import type { Knex } from 'knex'
import { connect } from '../lib/config/connect.ts'
import { loadMigrations } from '../lib/config/load-migrations.ts'
import { type ResolvedConfig, resolveConfig } from '../lib/config/resolve-config.ts'
import type { Migration } from '../lib/core/migration.ts'
import type { Dialect } from '../lib/dialects/dialect.ts'

/** Options every command accepts. */
export interface GlobalOptions {
  db?: string
  config?: string
  dir?: string
}

export interface Session {
  config: ResolvedConfig
  knex: Knex
  dialect: Dialect
  loadMigrations(names?: string[]): Promise<Migration[]>
  close(): Promise<void>
}

/** Resolves configuration and connects; the caller must `close()` it. */
export async function openSession(options: GlobalOptions, pool?: Knex.PoolConfig): Promise<Session> {
  const config = await resolveConfig({ ...options, cwd: process.cwd(), env: process.env })
  const { knex, dialect } = await connect(config, pool)
  return {
    config,
    knex,
    dialect,
    loadMigrations: (names) => loadMigrations(config.migrationsDir, names),
    close: () => knex.destroy(),
  }
}

export async function withSession<T>(options: GlobalOptions, fn: (s: Session) => Promise<T>, pool?: Knex.PoolConfig): Promise<T> {
  const session = await openSession(options, pool)
  try {
    return await fn(session)
  } finally {
    await session.close()
  }
}
