import type { Knex } from 'knex'
import { usage } from '../../errors.ts'
import type { Presence } from '../dialect.ts'

const CHANNEL = 'evolve_control'
// Advisory locks are keyed (class, object); the class keeps ours apart from the app's.
const LOCK_CLASS = 0x45564f

interface PgClient {
  query(sql: string, params?: unknown[]): Promise<unknown>
  on(event: 'notification', listener: (msg: { channel: string; payload?: string }) => void): void
  on(event: 'error' | 'end', listener: () => void): void
  removeAllListeners(event: string): void
}

const RECONNECT_MAX_MS = 5_000

/**
 * One dedicated connection per runner process. Each worker holds a session advisory
 * lock on it: if the process dies, PostgreSQL drops the session and the lock with it,
 * which other workers see at once, on any machine. The same connection LISTENs for
 * pause/resume/cancel. If the connection is lost while the process lives (a restarted
 * server, a terminated backend), it is opened again and the locks are taken again:
 * otherwise the process's live workers would look dead to everyone from then on.
 */
export async function openPostgresPresence(knex: Knex, onControl: (runName: string) => void): Promise<Presence> {
  const alive = new Set<string>()
  let closed = false
  let conn: PgClient | undefined
  // Locks held on `conn`: advisory locks count, so each is taken once per session.
  let locked = new Set<string>()
  // Workers of one process share this client; pg wants its queries one after another.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = (work: () => Promise<unknown>) => {
    const next = queue.then(work)
    queue = next.catch(() => {})
    return next
  }
  const lock = async (client: PgClient, id: string) => {
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS, id])
    locked.add(id)
  }

  const open = async () => {
    const client = (await knex.client.acquireConnection()) as PgClient
    client.on('notification', (msg) => {
      if (msg.channel === CHANNEL && msg.payload) onControl(msg.payload)
    })
    const onLost = () => {
      if (closed || conn !== client) return
      conn = undefined
      client.removeAllListeners('notification')
      knex.client.releaseConnection(client).catch(() => {}) // knex destroys a connection that errored
      void serial(reopen)
    }
    client.on('error', onLost)
    client.on('end', onLost)
    locked = new Set()
    try {
      await client.query(`LISTEN ${CHANNEL}`)
      for (const id of alive) await lock(client, id)
    } catch (err) {
      await knex.client.releaseConnection(client).catch(() => {})
      throw err
    }
    conn = client
  }
  const reopen = async () => {
    for (let delay = 100; !closed && !conn; delay = Math.min(delay * 2, RECONNECT_MAX_MS)) {
      try {
        await open()
      } catch {
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  await open()
  return {
    markAlive: async (id) => {
      alive.add(id)
      await serial(async () => {
        if (conn && !locked.has(id)) await lock(conn, id)
      })
    },
    markGone: async (id) => {
      alive.delete(id)
      await serial(async () => {
        // A lost connection took the lock with it: nothing to undo then.
        if (conn && locked.delete(id)) await conn.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, id]).catch(() => {})
      })
    },
    close: async () => {
      closed = true
      await queue
      const client = conn
      conn = undefined
      if (!client) return
      client.removeAllListeners('notification')
      await client.query('UNLISTEN *; SELECT pg_advisory_unlock_all()').catch(() => {})
      await knex.client.releaseConnection(client)
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
