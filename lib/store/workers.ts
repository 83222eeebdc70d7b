import { hostname } from 'node:os'
import { type Db, num, numOrNull } from './db.ts'
import { TABLES } from './schema.ts'

export interface WorkerRow {
  id: string
  host: string
  pid: number
  heartbeatAt: number
  stoppedAt: number | null
}

export async function registerWorker(db: Db, id: string): Promise<void> {
  const now = Date.now()
  await db(TABLES.workers).insert({ id, host: hostname(), pid: process.pid, started_at: now, heartbeat_at: now })
}

export async function heartbeat(db: Db, id: string): Promise<void> {
  await db(TABLES.workers).where({ id }).update({ heartbeat_at: Date.now() })
}

export async function stopWorker(db: Db, id: string): Promise<void> {
  await db(TABLES.workers).where({ id }).update({ stopped_at: Date.now() })
}

export async function getWorkers(db: Db, ids: string[]): Promise<WorkerRow[]> {
  if (ids.length === 0) return []
  const rows = await db(TABLES.workers).whereIn('id', ids)
  return rows.map((r) => ({
    id: String(r.id),
    host: String(r.host),
    pid: num(r.pid),
    heartbeatAt: num(r.heartbeat_at),
    stoppedAt: numOrNull(r.stopped_at),
  }))
}
