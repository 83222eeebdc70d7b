import knexFactory, { type Knex } from 'knex'

/** A database the demo and the app can share: `sqlite:<path>` or `postgres://…`. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url)
}

/**
 * The app's own connection. SQLite gets WAL (readers never wait for the runner) and a
 * busy timeout (a write waits for the runner's short batch instead of failing at once).
 */
export function connect(url: string, poolMax = 5): Knex {
  if (isPostgresUrl(url)) return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: poolMax } })
  const filename = url.replace(/^sqlite:/, '')
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
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
}
