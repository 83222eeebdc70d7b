import { type Db, decodeKey, encodeKey, num } from './db.ts'
import { TABLES } from './schema.ts'

export interface Failure {
  key: unknown
  error: string
  attempts: number
  createdAt: number
  updatedAt: number
}

/** Records (or re-records, counting attempts up) an object that could not be evolved. */
export async function recordFailure(db: Db, runName: string, key: unknown, error: string, attempts: number) {
  const now = Date.now()
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

/** An object that now evolved cleanly is no longer a failure. */
export async function clearFailures(db: Db, runName: string, keys: unknown[]): Promise<void> {
  if (keys.length === 0) return
  await db(TABLES.failures).where({ run_name: runName }).whereIn('key', keys.map(encodeKey)).delete()
}

export async function listFailures(db: Db, runName: string, limit?: number): Promise<Failure[]> {
  const query = db(TABLES.failures).where({ run_name: runName }).orderBy('created_at').orderBy('key')
  if (limit !== undefined) query.limit(limit)
  return (await query).map((r) => ({
    key: decodeKey(String(r.key)),
    error: String(r.error),
    attempts: num(r.attempts),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  }))
}

export async function countFailures(db: Db, runName: string): Promise<number> {
  const row = await db(TABLES.failures).where({ run_name: runName }).count({ n: '*' }).first()
  return num(row?.n)
}
