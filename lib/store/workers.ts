import { hostname } from 'node:os'
import type { Knex } from 'knex'
import { type Db, num, numOrNull } from './db.ts'
import { TABLES } from './schema.ts'

/*
 * Heartbeats are written and aged by `clock`, the database's clock as SQL (see
 * Dialect.clockMs): every machine then measures with the same clock.
 */

export interface WorkerRow {
  id: string
  runName: string | null
  host: string
  pid: number
  /** How long ago the last heartbeat was, by the database's clock. */
  ageMs: number
  stoppedAt: number | null
}

export async function registerWorker(db: Db, clock: Knex.Raw, id: string, runName: string): Promise<void> {
  await db(TABLES.workers).insert({ id, run_name: runName, host: hostname(), pid: process.pid, started_at: clock, heartbeat_at: clock })
}

export async function heartbeat(db: Db, clock: Knex.Raw, id: string): Promise<void> {
  await db(TABLES.workers).where({ id }).update({ heartbeat_at: clock })
}

export async function stopWorker(db: Db, id: string): Promise<void> {
  await db(TABLES.workers).where({ id }).update({ stopped_at: Date.now() })
}

function toWorker(r: Record<string, unknown>): WorkerRow {
  return {
    id: String(r.id),
    runName: (r.run_name as string | null) ?? null,
    host: String(r.host),
    pid: num(r.pid),
    ageMs: num(r.age_ms),
    stoppedAt: numOrNull(r.stopped_at),
  }
}

export async function getWorkers(db: Db, clock: Knex.Raw, ids: string[]): Promise<WorkerRow[]> {
  if (ids.length === 0) return []
  return (
    await db(TABLES.workers)
      .whereIn('id', ids)
      .select('*', db.raw('? - heartbeat_at AS age_ms', [clock]))
  ).map(toWorker)
}

/** Workers of a run that have not said goodbye and beat recently. */
export async function recentWorkers(db: Db, clock: Knex.Raw, runName: string, leaseMs: number): Promise<WorkerRow[]> {
  const rows = await db(TABLES.workers)
    .where({ run_name: runName })
    .whereNull('stopped_at')
    .where('heartbeat_at', '>', db.raw('? - ?', [clock, leaseMs]))
    .select('*', db.raw('? - heartbeat_at AS age_ms', [clock]))
  return rows.map(toWorker)
}
