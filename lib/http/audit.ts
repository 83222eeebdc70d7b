import type { FastifyRequest } from 'fastify'
import type { Evolve } from '../api/evolve.ts'

type ReadOnlyState = Awaited<ReturnType<Evolve['readOnly']['status']>>

export interface AuditEntry {
  /** What was done: `pause`, `resume`, `cancel`, `retry-failures`, `read-only on`, `read-only off`. */
  action: string
  run?: string
  /** A run's state before and after; for the read-only switch, its whole state as GET /read-only gives it. */
  from?: string | ReadOnlyState | null
  to?: string | ReadOnlyState
  reason?: string | null
  /** False for a request that found the run already so (a pause of a paused run): answered, nothing changed. */
  changed?: boolean
  [detail: string]: unknown
}

/**
 * One log line per request that asks for a change (`changed: false` when it found it made): who (the token's name), what, when and from which address.
 * The database records the same `by` and reason with the run, where `status` shows it.
 */
export function audit(request: FastifyRequest, entry: AuditEntry): void {
  request.log.info(
    { audit: { by: request.actor, address: request.ip, at: new Date().toISOString(), ...entry } },
    `audit: ${request.actor} ${entry.action}${entry.run ? ` ${entry.run}` : ''}`,
  )
}

/** The reason stored with the run: the caller's, or one saying where the change came from. */
export function reasonOf(request: FastifyRequest, given: string | undefined, action: string): string {
  return given ?? `${action} via the admin API from ${request.ip}`
}
