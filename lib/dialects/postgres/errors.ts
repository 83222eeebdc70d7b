import type { RetryReason } from '../dialect.ts'
import { READ_ONLY_HINT } from './read-only-guard.ts'

/** SQLSTATEs that mean "try the batch again", not "the batch is wrong". */
export const RETRYABLE_SQLSTATES: Record<string, RetryReason> = {
  '40P01': 'deadlock',
  '40001': 'serialization',
  '55P03': 'lock_timeout',
  '57014': 'statement_timeout',
  '57P01': 'connection', // admin_shutdown
  '57P02': 'connection', // crash_shutdown
  '57P03': 'connection', // cannot_connect_now
  '53300': 'connection', // too_many_connections
  '08000': 'connection',
  '08003': 'connection',
  '08006': 'connection',
  '08001': 'connection',
  '08004': 'connection',
}

/**
 * SQLSTATEs (and classes: the first two characters) no row can be blamed for: the fix is the
 * server's or the role's. Not XX000 (internal_error): extensions raise it for one bad value (a
 * PostGIS TopologyException), so only corrupt data or an index (XX001, XX002) are the server's.
 */
const DATABASE_FAULTS: Record<string, string> = {
  '25006': 'the database refuses writes (a read replica, or default_transaction_read_only for this role): point evolvekit at the primary',
  '53100': 'the database server is out of disk space: free some',
  '53200': 'the database server is out of memory',
  '53': 'the database server is out of a resource',
  '58': 'the database server failed (a system or I/O error)',
  XX001: 'the database server found corrupt data',
  XX002: 'the database server found a corrupt index: REINDEX it',
}

/**
 * 42501, insufficient privilege, counts outside a batch only (the tracking tables, the checks
 * before a run): in a batch it is also what a row-level security policy refuses one row with (an
 * `up` writing another table, a trigger), which isolating that row handles. The core counts it in
 * a batch too when no table has row-level security on (Dialect.rowSecurityInUse, row-security.ts).
 */
const PRIVILEGE = { code: '42501', fault: 'the role evolvekit runs as lacks a privilege: grant it' }

export function postgresDatabaseFault(err: unknown, where: 'batch' | 'setup'): string | null {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || code.length !== 5 || code === '53300') return null // 53300: retried as a connection
  if ((err as { hint?: unknown }).hint === READ_ONLY_HINT)
    return `evolvekit's read-only mode refused the batch's write (${(err as Error).message}): \`evolve readonly status\` says for which tables`
  const privilege = where === 'setup' && code === PRIVILEGE.code ? PRIVILEGE.fault : undefined
  const fault = privilege ?? DATABASE_FAULTS[code] ?? DATABASE_FAULTS[code.slice(0, 2)]
  return fault === undefined ? null : `${fault} (${code}: ${(err as Error).message})`
}

/** Socket-level failures from node's net layer, before PostgreSQL could answer. */
const RETRYABLE_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'])

export function classifyPostgresError(err: unknown): RetryReason | null {
  if (typeof err !== 'object' || err === null) return null
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string') {
    return /Connection terminated/.test(String((err as Error).message)) ? 'connection' : null
  }
  if (code in RETRYABLE_SQLSTATES) return RETRYABLE_SQLSTATES[code]!
  return RETRYABLE_NODE_CODES.has(code) ? 'connection' : null
}

/**
 * `message` with what PostgreSQL says besides it, for a failed object's record: DETAIL names the
 * row a constraint refused (`Key (email)=(a@b.c) already exists.`), HINT what to do. Said once:
 * an error the write-back reworded carries them already.
 */
export function withPostgresDetail(message: string, err: unknown): string {
  const { detail, hint } = (err ?? {}) as { detail?: unknown; hint?: unknown }
  let text = message
  if (typeof detail === 'string' && detail !== '' && !text.includes(detail)) text += `: ${detail}`
  if (typeof hint === 'string' && hint !== '' && !text.includes(hint)) text += ` Hint: ${hint}`
  return text
}

export const isPostgresMissingPrivilege = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === PRIVILEGE.code
