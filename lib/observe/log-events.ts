import { hostname } from 'node:os'
import { type Logger, symbols } from 'pino'
import type { EvolveEmitter } from '../core/events.ts'
import { throttleHold } from '../core/throttle.ts'

/**
 * How often one run's unchanged throttle reason is logged again. A throttled worker waits in
 * short steps and emits `throttled` for each (one every ~100 ms per worker): logged as it came,
 * that buried everything else (634 lines in 70 s). A new hold (throttleHold: its source, and the
 * hook's reason) is logged at once.
 */
export const THROTTLE_LOG_EVERY_MS = 10_000

/** Writes every core event as one structured log entry (`throttled` repeats folded, see above). */
export function logEvents(events: EvolveEmitter, log: Logger, now: () => number = Date.now): void {
  stampProcess(log)
  const throttles = new Map<string, { key: string; at: number; folded: number }>()
  events.on('run:start', (e) => log.info({ event: 'run:start', ...e }, `${e.run}: ${e.resumed ? 'resuming' : 'starting'}`))
  // A failed count is no count: "no rows pending" would say the table has nothing to evolve.
  events.on('run:total', (e) =>
    e.error === null
      ? log.info({ event: 'run:total', ...e }, `${e.run}: ${e.total} rows pending`)
      : log.warn({ event: 'run:total', ...e }, `${e.run}: could not count the rows pending; the run goes on without a total`),
  )
  // Every change of state, this process's and (as its runner notices them) other processes':
  // a pause, resume or cancel by an operator is in the log with who made it and why.
  events.on('run:state', (e) =>
    log.info({ event: 'run:state', ...e }, `${e.run}: ${e.from} -> ${e.to} by ${e.by}${e.reason === null ? '' : ` (${e.reason})`}`),
  )
  events.on('run:skip', (e) => log.info({ event: 'run:skip', ...e }, `${e.run}: skipped (${e.reason})`))
  // A cancel is an operator's decision, not an error.
  const endLevel = (state: string) => (state === 'done' ? log.info : state === 'cancelled' ? log.warn : log.error)
  events.on('run:end', (e) => {
    throttles.delete(e.run)
    endLevel(e.state).call(log, { event: 'run:end', ...e }, `${e.run}: ${e.state}`)
  })
  // Durations are measured with performance.now(): a tenth of a millisecond is all they mean.
  events.on('batch:done', (e) =>
    log.info({ event: 'batch:done', ...e, durationMs: Math.round(e.durationMs * 10) / 10 }, `${e.run}: batch ${e.batchId} done`),
  )
  // A conflict met between batches (a claim, the end of a pass) has no batch to name.
  events.on('batch:retry', (e) =>
    log.warn(
      { event: 'batch:retry', ...e },
      e.batchId === null
        ? `${e.run}: a statement between batches retried (${e.reason}, attempt ${e.attempt})`
        : `${e.run}: batch ${e.batchId} retried (${e.reason})`,
    ),
  )
  // Part of isolating a failed object (logged at error on its own): a step, not a problem.
  events.on('batch:split', (e) => log.info({ event: 'batch:split', ...e }, `${e.run}: batch ${e.batchId} split`))
  events.on('batch:takeover', (e) => log.warn({ event: 'batch:takeover', ...e }, `${e.run}: took over batch ${e.batchId}`))
  events.on('batch:alone', (e) =>
    log.warn(
      { event: 'batch:alone', ...e },
      `${e.run}: batch ${e.batchId} may have killed a process: it waits for ${e.waitingFor} other worker(s) here to finish, then runs alone`,
    ),
  )
  events.on('object:failed', (e) => log.error({ event: 'object:failed', ...e }, `${e.run}: object failed`))
  events.on('sweep', (e) => log.info({ event: 'sweep', ...e }, `${e.run}: sweep ${e.pass}`))
  events.on('snapshot:step', (e) => log.info({ event: 'snapshot:step', ...e }, `${e.run}: snapshot of ${e.table}: ${e.step}`))
  events.on('read-only', (state) =>
    log.info(
      { event: 'read-only', ...state },
      state.readOnly ? `read-only: on for ${state.tables?.join(', ') ?? 'every table'} (by ${state.by})` : 'read-only: off',
    ),
  )

  events.on('throttled', (e) => {
    const key = throttleHold(e)
    const last = throttles.get(e.run)
    const t = now()
    if (last && last.key === key && t - last.at < THROTTLE_LOG_EVERY_MS) {
      last.folded++
      return
    }
    throttles.set(e.run, { key, at: t, folded: 0 })
    // `repeats`: how many times this reason came again since it was last logged.
    const repeats = last?.key === key ? last.folded : 0
    log.info({ event: 'throttled', ...e, ...(repeats > 0 ? { repeats } : {}) }, `${e.run}: throttled (${e.reason})`)
  })
}

/**
 * Host and pid on every line of `log` (this process's lines, the caller's summary included), as
 * pino's default base puts them: several runners shipping to one log store are told apart. Added
 * to the logger given, unless it carries them already.
 */
function stampProcess(log: Logger): void {
  // bindings() leaves pid and hostname out: the serialized bindings tell whether they are there.
  const serialized = String((log as unknown as Record<symbol, unknown>)[symbols.chindingsSym] ?? '')
  const missing = {
    ...(serialized.includes('"pid":') ? {} : { pid: process.pid }),
    ...(serialized.includes('"hostname":') ? {} : { hostname: hostname() }),
  }
  if (Object.keys(missing).length > 0) log.setBindings(missing)
}
