import type { RetryReason } from '../dialect.ts'

/** SQLite result codes (extended codes share these prefixes) that mean "the database was busy". */
export const RETRYABLE_SQLITE_CODES: Record<string, RetryReason> = {
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
}

/** SQLite result codes no row can be blamed for: the fix is the file's, the disk's or the process's. */
const DATABASE_FAULTS: Record<string, string> = {
  SQLITE_FULL: 'the database or its disk is full: free space (or raise max_page_count)',
  SQLITE_IOERR: 'the database file could not be read or written (an I/O error)',
  SQLITE_NOMEM: 'SQLite ran out of memory',
  SQLITE_CORRUPT: 'the database file is corrupt',
  SQLITE_NOTADB: 'the file is not a SQLite database',
  SQLITE_READONLY: "the database file is read-only for this process: check its permissions (and its directory's)",
  SQLITE_CANTOPEN: 'the database file could not be opened',
}

export function sqliteDatabaseFault(err: unknown, _where?: 'batch' | 'setup'): string | null {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return null
  const fault = DATABASE_FAULTS[code.split('_').slice(0, 2).join('_')]
  return fault === undefined ? null : `${fault} (${code}: ${(err as Error).message})`
}

export function classifySqliteError(err: unknown): RetryReason | null {
  if (typeof err !== 'object' || err === null) return null
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string') return null
  const primary = code.split('_').slice(0, 2).join('_') // SQLITE_BUSY_SNAPSHOT -> SQLITE_BUSY
  return RETRYABLE_SQLITE_CODES[primary] ?? null
}
