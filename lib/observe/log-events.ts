import type { Logger } from 'pino'
import type { EvolveEmitter } from '../core/events.ts'

/** Writes every core event as one structured log entry. */
export function logEvents(events: EvolveEmitter, log: Logger): void {
  events.on('run:start', (e) => log.info({ event: 'run:start', ...e }, `${e.run}: ${e.resumed ? 'resuming' : 'starting'}`))
  events.on('run:total', (e) =>
    (e.error === null ? log.info : log.warn).call(log, { event: 'run:total', ...e }, `${e.run}: ${e.total ?? 'no'} rows pending`),
  )
  events.on('run:skip', (e) => log.info({ event: 'run:skip', ...e }, `${e.run}: skipped (${e.reason})`))
  // A cancel is an operator's decision, not an error.
  const endLevel = (state: string) => (state === 'done' ? log.info : state === 'cancelled' ? log.warn : log.error)
  events.on('run:end', (e) => endLevel(e.state).call(log, { event: 'run:end', ...e }, `${e.run}: ${e.state}`))
  events.on('batch:done', (e) => log.info({ event: 'batch:done', ...e }, `${e.run}: batch ${e.batchId} done`))
  events.on('batch:retry', (e) => log.warn({ event: 'batch:retry', ...e }, `${e.run}: batch ${e.batchId} retried (${e.reason})`))
  events.on('batch:split', (e) => log.warn({ event: 'batch:split', ...e }, `${e.run}: batch ${e.batchId} split`))
  events.on('batch:takeover', (e) => log.warn({ event: 'batch:takeover', ...e }, `${e.run}: took over batch ${e.batchId}`))
  events.on('object:failed', (e) => log.error({ event: 'object:failed', ...e }, `${e.run}: object failed`))
  events.on('sweep', (e) => log.info({ event: 'sweep', ...e }, `${e.run}: sweep ${e.pass}`))
  events.on('throttled', (e) => log.info({ event: 'throttled', ...e }, `${e.run}: throttled (${e.reason})`))
}
