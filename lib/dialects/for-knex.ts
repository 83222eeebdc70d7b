import type { Knex } from 'knex'
import type { Dialect } from './dialect.ts'
import { postgresDialect } from './postgres/index.ts'
import { sqliteDialect } from './sqlite/index.ts'

const BY_CLIENT: Record<string, Dialect> = {
  pg: postgresDialect,
  postgres: postgresDialect,
  postgresql: postgresDialect,
  'better-sqlite3': sqliteDialect,
}

/** Every dialect, for what must be answered without a connection (is this error a read-only refusal?). */
export const ALL_DIALECTS: readonly Dialect[] = [postgresDialect, sqliteDialect]

/** The only place that looks at a knex client's name. */
export function dialectForClient(client: string): Dialect | undefined {
  return BY_CLIENT[client]
}

export function dialectOf(knex: Knex): Dialect {
  const client = String(knex.client.config.client)
  const dialect = dialectForClient(client)
  if (!dialect) throw new Error(`evolvekit supports PostgreSQL (pg) and SQLite (better-sqlite3), not knex client "${client}"`)
  return dialect
}
