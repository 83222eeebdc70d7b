import { hostname } from 'node:os'
import type { Dialect } from '../dialects/dialect.ts'
import { type Db, num, numOrNull } from './db.ts'
import { TABLES } from './schema.ts'

export interface WorkerRow {
  id: string
  runName: string | null
  host: string
  pid: number
  /** How long ago the last heartbeat was, by the database's clock. */
  ageMs: number
  stoppedAt: number | null
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

/**
 * Workers and their heartbeats. Heartbeats are written and aged by the database's clock:
 * every machine then measures with the same clock.
 */
export class WorkersStore {
  constructor(private readonly dialect: Dialect) {}

  async register(db: Db, id: string, runName: string): Promise<void> {
    const now = this.dialect.clockMs(db)
    await db(TABLES.workers).insert({ id, run_name: runName, host: hostname(), pid: process.pid, started_at: now, heartbeat_at: now })
  }

  async heartbeat(db: Db, id: string): Promise<void> {
    await db(TABLES.workers)
      .where({ id })
      .update({ heartbeat_at: this.dialect.clockMs(db) })
  }

  async stop(db: Db, id: string): Promise<void> {
    await db(TABLES.workers)
      .where({ id })
      .update({ stopped_at: this.dialect.clockMs(db) })
  }

  async get(db: Db, ids: string[]): Promise<WorkerRow[]> {
    if (ids.length === 0) return []
    return (
      await db(TABLES.workers)
        .whereIn('id', ids)
        .select('*', db.raw('? - heartbeat_at AS age_ms', [this.dialect.clockMs(db)]))
    ).map(toWorker)
  }

  /** Workers of a run that have not said goodbye, however late their heartbeat (liveness.ts judges them). */
  async serving(db: Db, runName: string): Promise<WorkerRow[]> {
    const rows = await db(TABLES.workers)
      .where({ run_name: runName })
      .whereNull('stopped_at')
      .select('*', db.raw('? - heartbeat_at AS age_ms', [this.dialect.clockMs(db)]))
    return rows.map(toWorker)
  }
}
