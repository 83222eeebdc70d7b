import type { Knex } from 'knex'

interface Pool<C> {
  acquireConnection(): Promise<C>
  releaseConnection(connection: C): Promise<unknown>
}

/**
 * Runs `fn` on the better-sqlite3 connection under `db`: a transaction's own, or the knex's one
 * pooled connection, borrowed for the call (knexConfig keeps one per process). For what knex
 * cannot do: statements prepared once and run again, reads that must not go through a query.
 */
export async function withNativeConnection<C, T>(db: Knex | Knex.Transaction, fn: (connection: C) => T): Promise<T> {
  const pool = db.client as Pool<C>
  const connection = await pool.acquireConnection()
  try {
    return fn(connection)
  } finally {
    // A transaction's client hands out its own connection and takes nothing back.
    await pool.releaseConnection(connection)
  }
}
