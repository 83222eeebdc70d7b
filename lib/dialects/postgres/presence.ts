import type { Knex } from 'knex'
import { usage } from '../../errors.ts'
import type { Presence } from '../dialect.ts'
import { openSession } from './session.ts'

const CHANNEL = 'evolve_control'
// Advisory locks are keyed (class, object); the class keeps ours apart from the app's.
const LOCK_CLASS = 0x45564f

/**
 * One dedicated session per runner process, outside knex's pool. Each worker holds a
 * session advisory lock on it: if the process dies, PostgreSQL drops the session and the
 * lock with it, which other workers see at once, on any machine. The same session LISTENs
 * for pause/resume/cancel. If it is lost while the process lives (a restarted server, a
 * terminated backend), it is opened again and the locks taken again: otherwise the
 * process's live workers would look dead to everyone from then on.
 */
export async function openPostgresPresence(knex: Knex, onControl: (runName: string) => void): Promise<Presence> {
  const alive = new Set<string>()
  let backendPid: number | undefined
  // Locks held by the current session: advisory locks count, so each is taken once per session.
  let locked = new Set<string>()
  // Workers of one process share this session; pg wants its queries one after another.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = (work: () => Promise<unknown>) => {
    const next = queue.then(work)
    queue = next.catch(() => {})
    return next
  }

  const session = await openSession(knex, {
    init: async (client) => {
      // This session idles by design, holding the workers' locks: a role's idle_session_timeout
      // (PostgreSQL 14+) meant for the app would end it, and make live workers look dead.
      await client.query(`SELECT set_config(name, '0', false) FROM pg_settings WHERE name = 'idle_session_timeout'`)
      const { rows } = await client.query('SELECT pg_backend_pid() AS pid')
      await client.query(`LISTEN ${CHANNEL}`)
      locked = new Set()
      for (const id of alive) {
        // A try-lock: the old session may still hold it (only the client saw the connection
        // die); reopening then ends that session and tries again instead of waiting forever.
        const { rows: got } = await client.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, id])
        if (!got[0]?.ok) throw new Error(`worker ${id}'s lock is still held by the lost session`)
        locked.add(id)
      }
      backendPid = Number(rows[0]?.pid)
    },
    onNotification: (channel, payload) => {
      if (channel === CHANNEL && payload) onControl(payload)
    },
    // The lost session, if the server still has it, holds our workers' locks: end it. (Matching
    // the locks too, so a pid the server has since given to another session is left alone.)
    beforeReopen: async () => {
      if (backendPid === undefined || alive.size === 0) return
      await knex.raw(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = ?
           AND classid = ? AND objid IN (SELECT hashtext(id)::oid FROM unnest(?::text[]) AS id)`,
        [backendPid, LOCK_CLASS, [...alive]],
      )
    },
    schedule: (reopen) => void serial(reopen),
  })

  return {
    markAlive: async (id) => {
      alive.add(id)
      await serial(async () => {
        const conn = session.current()
        if (!conn || locked.has(id)) return
        await conn.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS, id])
        locked.add(id)
      })
    },
    markGone: async (id) => {
      alive.delete(id)
      await serial(async () => {
        // A lost session took the lock with it: nothing to undo then.
        const conn = session.current()
        if (conn && locked.delete(id)) await conn.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, id]).catch(() => {})
      })
    },
    // Ending the session releases its locks and its LISTEN; queued work (a reopening) ends first.
    close: () => session.close(() => queue),
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
