import { type Db, num } from './db.ts'
import { TABLES } from './schema.ts'

/** Shared switches and figures (e.g. the app's reported latency), visible to every process. */
export async function setControl(db: Db, key: string, value: string | null): Promise<void> {
  await db(TABLES.control)
    .insert({ key, value, updated_at: Date.now() })
    .onConflict('key')
    .merge(['value', 'updated_at'])
}

export async function getControl(db: Db, key: string): Promise<{ value: string | null; updatedAt: number } | undefined> {
  const row = await db(TABLES.control).where({ key }).first()
  return row ? { value: (row.value as string | null) ?? null, updatedAt: num(row.updated_at) } : undefined
}
