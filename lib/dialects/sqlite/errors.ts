import type { RetryReason } from '../dialect.ts'

/** SQLite result codes (extended codes share these prefixes) that mean "the database was busy". */
export const RETRYABLE_SQLITE_CODES: Record<string, RetryReason> = {
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
}

export function classifySqliteError(err: unknown): RetryReason | null {
  if (typeof err !== 'object' || err === null) return null
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string') return null
  const primary = code.split('_').slice(0, 2).join('_') // SQLITE_BUSY_SNAPSHOT -> SQLITE_BUSY
  return RETRYABLE_SQLITE_CODES[primary] ?? null
}
