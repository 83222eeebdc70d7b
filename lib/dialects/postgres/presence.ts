import type { Knex } from 'knex'
import { usage } from '../../errors.ts'
import type { Presence } from '../dialect.ts'

const CHANNEL = 'evolve_control'
// Advisory locks are keyed (class, object); the class keeps ours apart from the app's.
const LOCK_CLASS = 0x45564f

interface PgClient {
  query(sql: string, params?: unknown[]): Promise<unknown>
  on(event: 'notification', listener: (msg: { channel: string; payload?: string }) => void): void
  removeAllListeners(event: string): void
}

/**
 * One dedicated connection per runner process. Each worker holds a session advisory
 * lock on it: if the process dies, PostgreSQL drops the session and the lock with it,
 * which other workers see at once, on any machine. The same connection LISTENs for
 * pause/resume/cancel.
 */
export async function openPostgresPresence(knex: Knex, onControl: (runName: string) => void): Promise<Presence> {
  const conn = (await knex.client.acquireConnection()) as PgClient
  conn.on('notification', (msg) => {
    if (msg.channel === CHANNEL && msg.payload) onControl(msg.payload)
  })
  await conn.query(`LISTEN ${CHANNEL}`)
  // Workers of one process share this client; pg wants its queries one after another.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = (sql: string, params: unknown[]) => {
    const next = queue.then(() => conn.query(sql, params))
    queue = next.catch(() => {})
    return next
  }
  return {
    markAlive: async (id) => {
      await serial('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS, id])
    },
    markGone: async (id) => {
      await serial('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, id])
    },
    close: async () => {
      conn.removeAllListeners('notification')
      await queue
      await conn.query('UNLISTEN *; SELECT pg_advisory_unlock_all()').catch(() => {})
      await knex.client.releaseConnection(conn)
    },
  }
}

export async function postgresIsWorkerConnected(knex: Knex, workerId: string): Promise<boolean> {
  // A transaction-level try-lock conflicts with the worker's session lock but frees itself.
  const { rows } = await knex.raw('SELECT pg_try_advisory_xact_lock(?, hashtext(?)) AS free', [LOCK_CLASS, workerId])
  return !rows[0].free
}

export async function postgresNotifyControl(knex: Knex, runName: string): Promise<void> {
  await knex.raw('SELECT pg_notify(?, ?)', [CHANNEL, runName])
}

export async function postgresReplicationLagMs(knex: Knex): Promise<number | null> {
  const { rows } = await knex.raw(`SELECT max(extract(epoch FROM replay_lag)) * 1000 AS lag, count(*) AS replicas,
    count(*) FILTER (WHERE state IS NULL) AS hidden, current_user AS role FROM pg_stat_replication`)
  const { lag, replicas, hidden, role } = rows[0]
  // Without pg_read_all_stats every column but pid reads NULL: the lag would look like zero.
  if (Number(hidden) > 0) {
    throw usage(
      'E_REPLICATION_LAG_HIDDEN',
      `maxReplicationLagMs: role "${role}" cannot read replica lag from pg_stat_replication; GRANT pg_read_all_stats TO "${role}", or drop --max-replication-lag-ms`,
    )
  }
  // A caught-up idle replica reports a NULL lag: that is zero, not unknown.
  return Number(replicas) === 0 ? 0 : Number(lag ?? 0)
}
