import type { RetryReason } from '../dialect.ts'

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
