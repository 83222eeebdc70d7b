import type { Dialect } from '../dialects/dialect.ts'
import { type Db, num } from './db.ts'
import { TABLES } from './schema.ts'

/**
 * Shared switches and figures (e.g. the app's reported latency), visible to every process.
 * Stamped and aged by the database's clock: the app reporting and the runner reading may
 * run on machines whose clocks disagree.
 */
export class ControlStore {
  constructor(private readonly dialect: Dialect) {}

  async set(db: Db, key: string, value: string | null): Promise<void> {
    await db(TABLES.control)
      .insert({ key, value, updated_at: this.dialect.clockMs(db) })
      .onConflict('key')
      .merge(['value', 'updated_at'])
  }

  /** Sets `key` to `value` unless it is set already (the unique key lets one process win); then what it holds. */
  async claim(db: Db, key: string, value: string): Promise<string | null | undefined> {
    await db(TABLES.control)
      .insert({ key, value, updated_at: this.dialect.clockMs(db) })
      .onConflict('key')
      .ignore()
    return (await this.get(db, key))?.value
  }

  /** Compare-and-set: `key` becomes `value` only if it still holds `expected`. */
  async replace(db: Db, key: string, expected: string, value: string): Promise<boolean> {
    return (
      (await db(TABLES.control)
        .where({ key, value: expected })
        .update({ value, updated_at: this.dialect.clockMs(db) })) === 1
    )
  }

  /** Removes `key` if it still holds `value`. */
  async release(db: Db, key: string, value: string): Promise<void> {
    await db(TABLES.control).where({ key, value }).delete()
  }

  async get(db: Db, key: string): Promise<{ value: string | null; ageMs: number } | undefined> {
    const row = await db(TABLES.control)
      .where({ key })
      .first('value', db.raw('? - updated_at AS age_ms', [this.dialect.clockMs(db)]))
    return row ? { value: (row.value as string | null) ?? null, ageMs: num(row.age_ms) } : undefined
  }
}
