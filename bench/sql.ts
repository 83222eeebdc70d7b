// One raw driver connection, for the hand-written baselines: no knex, no pool, nothing in between.
import Database from 'better-sqlite3'
import pg from 'pg'

export type DialectName = 'postgres' | 'sqlite'

/** SQL is written with `?` placeholders for both drivers. */
export interface Sql {
  readonly dialect: DialectName
  rows<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>
  close(): Promise<void>
}

export async function openPostgres(url: string): Promise<Sql> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const numbered = (sql: string) => {
    let n = 0
    return sql.replace(/\?/g, () => `$${++n}`)
  }
  return {
    dialect: 'postgres',
    rows: async (sql, params = []) => (await client.query(numbered(sql), params)).rows,
    run: async (sql, params = []) => (await client.query(numbered(sql), params)).rowCount ?? 0,
    close: () => client.end(),
  }
}

export function openSqlite(file: string): Sql {
  const db = new Database(file)
  db.pragma('journal_mode = WAL') // the same settings evolvekit's own connection uses
  db.pragma('busy_timeout = 5000')
  const statements = new Map<string, Database.Statement>()
  const prepared = (sql: string) => {
    let statement = statements.get(sql)
    if (!statement) statements.set(sql, (statement = db.prepare(sql)))
    return statement
  }
  return {
    dialect: 'sqlite',
    rows: async <T>(sql: string, params: unknown[] = []) => prepared(sql).all(...params) as T[],
    run: async (sql, params = []) => prepared(sql).run(...params).changes,
    close: async () => {
      db.close()
    },
  }
}
