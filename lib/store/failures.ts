import type { Dialect } from '../dialects/dialect.ts'
import { compareKeys } from './compare-keys.ts'
import { type Db, decodeKey, encodeKey, num } from './db.ts'
import { TABLES } from './schema.ts'

// Bound parameters per statement stay far below SQLite's 32766 and PostgreSQL's 65535.
export const KEY_CHUNK = 1000

export interface Failure {
  key: unknown
  error: string
  attempts: number
  createdAt: number
  updatedAt: number
}

/** A failure record a retry batch took: the attempts so far and the error it was recorded with. */
export interface Taken {
  attempts: number
  error: string
}

/** The keys of a run's failed objects, in no order (the sweeps leave them out: lib/core/planner.ts). */
export async function failedKeys(db: Db, runName: string): Promise<unknown[]> {
  const rows: { key: unknown }[] = await db(TABLES.failures).where({ run_name: runName }).select('key')
  return rows.map((r) => decodeKey(String(r.key)))
}

/** The failed objects of each run, one row per key. */
export class FailuresStore {
  constructor(private readonly dialect: Dialect) {}

  /** Records (or re-records, counting attempts up) an object that could not be evolved. */
  async record(db: Db, runName: string, key: unknown, error: string, attempts: number): Promise<void> {
    const now = this.dialect.clockMs(db)
    const encoded = encodeKey(key)
    const existing = await db(TABLES.failures).where({ run_name: runName, key: encoded }).first()
    if (existing) {
      await db(TABLES.failures)
        .where({ run_name: runName, key: encoded })
        .update({ error, attempts: num(existing.attempts) + attempts, updated_at: now })
    } else {
      await db(TABLES.failures).insert({ run_name: runName, key: encoded, error, attempts, created_at: now, updated_at: now })
    }
  }

  /**
   * Takes the failure records of `keys` for a retry batch: locks them, deletes them and
   * returns the keys taken, with their attempts so far and their error. A key whose record is gone was
   * taken by another retry batch (a second `evolve retry`) and must not be evolved again;
   * a concurrent taker waits on the lock and then finds it gone.
   */
  async take(db: Db, runName: string, keys: unknown[]): Promise<Map<string, Taken>> {
    const taken = new Map<string, Taken>()
    for (let i = 0; i < keys.length; i += KEY_CHUNK) {
      const encoded = keys.slice(i, i + KEY_CHUNK).map(encodeKey)
      const rows: { key: string; attempts: unknown; error: unknown }[] = await this.dialect.lockRows(
        db(TABLES.failures).where({ run_name: runName }).whereIn('key', encoded).select('key', 'attempts', 'error'),
      )
      if (rows.length === 0) continue
      for (const r of rows) taken.set(String(r.key), { attempts: num(r.attempts), error: String(r.error) })
      await db(TABLES.failures)
        .where({ run_name: runName })
        .whereIn(
          'key',
          rows.map((r) => String(r.key)),
        )
        .delete()
    }
    return taken
  }

  /** Which of `keys` (encoded) have a failure recorded. */
  async recorded(db: Db, runName: string, keys: unknown[]): Promise<Set<string>> {
    const found = new Set<string>()
    for (let i = 0; i < keys.length; i += KEY_CHUNK) {
      const rows: { key: string }[] = await db(TABLES.failures)
        .where({ run_name: runName })
        .whereIn('key', keys.slice(i, i + KEY_CHUNK).map(encodeKey))
        .select('key')
      for (const r of rows) found.add(String(r.key))
    }
    return found
  }

  /** An object that now evolved cleanly is no longer a failure. */
  async clear(db: Db, runName: string, keys: unknown[]): Promise<void> {
    for (let i = 0; i < keys.length; i += KEY_CHUNK) {
      await db(TABLES.failures)
        .where({ run_name: runName })
        .whereIn('key', keys.slice(i, i + KEY_CHUNK).map(encodeKey))
        .delete()
    }
  }

  /** All failures of a run, in key order (for retries and finalize). */
  async list(db: Db, runName: string): Promise<Failure[]> {
    return this.page(db, runName, {})
  }

  /**
   * One page of a run's failures in a stable order (by key): `after` is the last key of
   * the previous page, so paging never skips or repeats while new failures come in.
   * Keys are stored as JSON text, whose order is not the keys' (105 before 14), so the
   * order and `after` are applied to the decoded keys here; a run's failures are few
   * (it stops at `maxFailures`), so reading them all is cheap.
   */
  async page(db: Db, runName: string, opts: { limit?: number; after?: unknown }): Promise<Failure[]> {
    const rows = await db(TABLES.failures).where({ run_name: runName })
    const failures: Failure[] = rows
      .map((r) => ({
        key: decodeKey(String(r.key)),
        error: String(r.error),
        attempts: num(r.attempts),
        createdAt: num(r.created_at),
        updatedAt: num(r.updated_at),
      }))
      .sort((a, b) => compareKeys(a.key, b.key))
    const after = opts.after
    const rest = after === undefined ? failures : failures.filter((f) => compareKeys(f.key, after) > 0)
    return opts.limit === undefined ? rest : rest.slice(0, opts.limit)
  }

  async count(db: Db, runName: string): Promise<number> {
    const row = await db(TABLES.failures).where({ run_name: runName }).count({ n: '*' }).first()
    return num(row?.n)
  }
}
