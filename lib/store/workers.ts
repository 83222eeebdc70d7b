import { hostname } from 'node:os'
import { type Db, num, numOrNull } from './db.ts'
import { TABLES } from './schema.ts'

export interface WorkerRow {
  id: string
  runName: string | null
  host: string
  pid: number
  heartbeatAt: number
  stoppedAt: number | null
}

export async function registerWorker(db: Db, id: string, runName: string): Promise<void> {
  const now = Date.now()
  await db(TABLES.workers).insert({ id, run_name: runName, host: hostname(), pid: process.pid, started_at: now, heartbeat_at: now })
}

export async function heartbeat(db: Db, id: string): Promise<void> {
  await db(TABLES.workers).where({ id }).update({ heartbeat_at: Date.now() })
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
    heartbeatAt: num(r.heartbeat_at),
    stoppedAt: numOrNull(r.stopped_at),
  }
}

export async function getWorkers(db: Db, ids: string[]): Promise<WorkerRow[]> {
  if (ids.length === 0) return []
  return (await db(TABLES.workers).whereIn('id', ids)).map(toWorker)
}

/** Workers of a run that have not said goodbye and beat recently. */
export async function recentWorkers(db: Db, runName: string, leaseMs: number): Promise<WorkerRow[]> {
  const rows = await db(TABLES.workers)
    .where({ run_name: runName })
    .whereNull('stopped_at')
    .where('heartbeat_at', '>', Date.now() - leaseMs)
  return rows.map(toWorker)
}
