import type { Dialect } from '../dialects/dialect.ts'
import { type Db, num, numOrNull } from './db.ts'
import { TABLES } from './schema.ts'
import { locateTracking } from './tracking-location.ts'

/** The read-only switch as stored: one row, times in epoch ms of the database's clock. */
export interface ReadOnlyRow {
  enabled: boolean
  message: string | null
  /** null = every user table. */
  tables: string[] | null
  since: number | null
  by: string | null
  expiresAt: number | null
  token: string
  /** The database's clock when the row was read. */
  now: number
}

export type ReadOnlyPatch = Pick<ReadOnlyRow, 'enabled' | 'message' | 'tables' | 'by' | 'expiresAt'> & { since: number | 'now' | null }

/** The read-only switch's row and its audit trail (who turned it on or off, when, with what). */
export class ReadOnlyStore {
  constructor(private readonly dialect: Dialect) {}

  /**
   * False before the tracking tables were upgraded to have the switch (an older install: it is off).
   * Refused, not false, when the role may not read it or it is in another schema: an app role
   * without SELECT was told "off" while the database refused its writes.
   */
  async exists(db: Db): Promise<boolean> {
    const here = await locateTracking(db, this.dialect, TABLES.readOnly, [TABLES.readOnly], 'read')
    return here ?? db.schema.hasTable(TABLES.readOnly)
  }

  /** The row; with `lock`, locked until the transaction ends (toggles queue on it, never on each other's DDL). */
  async get(db: Db, lock = false): Promise<ReadOnlyRow> {
    const query = db(TABLES.readOnly)
      .where({ id: 1 })
      .first('*', db.raw('? AS now', [this.dialect.clockMs(db)]))
    const row = await (lock ? this.dialect.lockRows(query) : query)
    if (!row) throw new Error(`${TABLES.readOnly} has no row: the tracking tables are damaged`)
    return {
      enabled: Boolean(row.enabled),
      message: row.message ?? null,
      tables: row.tables ? (JSON.parse(row.tables) as string[]) : null,
      since: numOrNull(row.since),
      by: row.by ?? null,
      expiresAt: numOrNull(row.expires_at),
      token: String(row.token),
      now: num(row.now),
    }
  }

  async set(db: Db, patch: ReadOnlyPatch): Promise<void> {
    await db(TABLES.readOnly)
      .where({ id: 1 })
      .update({
        enabled: patch.enabled,
        message: patch.message,
        tables: patch.tables ? JSON.stringify(patch.tables) : null,
        since: patch.since === 'now' ? this.dialect.clockMs(db) : patch.since,
        by: patch.by,
        expires_at: patch.expiresAt,
      })
  }

  async audit(db: Db, by: string, action: 'on' | 'off' | 'expired', detail: Record<string, unknown>): Promise<void> {
    await db(TABLES.readOnlyAudit).insert({ at: this.dialect.clockMs(db), by, action, detail: JSON.stringify(detail) })
  }

  /** The audit trail, newest first. */
  async history(db: Db, limit = 50): Promise<{ at: number; by: string; action: string; detail: Record<string, unknown> }[]> {
    const rows = await db(TABLES.readOnlyAudit).orderBy('id', 'desc').limit(limit)
    return rows.map((r) => ({ at: num(r.at), by: String(r.by), action: String(r.action), detail: JSON.parse(r.detail ?? '{}') }))
  }
}
