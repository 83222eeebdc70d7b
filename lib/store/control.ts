import type { Knex } from 'knex'
import { type Db, num } from './db.ts'
import { TABLES } from './schema.ts'

/**
 * Shared switches and figures (e.g. the app's reported latency), visible to every process.
 * Stamped and aged by `clock`, the database's clock (Dialect.clockMs): the app reporting and
 * the runner reading may run on machines whose clocks disagree.
 */
export async function setControl(db: Db, clock: Knex.Raw, key: string, value: string | null): Promise<void> {
  await db(TABLES.control).insert({ key, value, updated_at: clock }).onConflict('key').merge(['value', 'updated_at'])
}

export async function getControl(db: Db, clock: Knex.Raw, key: string): Promise<{ value: string | null; ageMs: number } | undefined> {
  const row = await db(TABLES.control)
    .where({ key })
    .first('value', db.raw('? - updated_at AS age_ms', [clock]))
  return row ? { value: (row.value as string | null) ?? null, ageMs: num(row.age_ms) } : undefined
}
