import type { UiEvent } from './admin.ts'
import { count } from './look.ts'

/** One line of the detail pane for an event, or null for events the pane does not show. */
export function describeEvent(e: UiEvent): string | null {
  const d = e.data as Record<string, never>
  switch (e.name) {
    case 'batch:done':
      return `batch ${d.batchId} done  ${count(d.rows)} rows  ${Math.round(d.durationMs)} ms${d.retries ? `  (${d.retries} retries)` : ''}`
    case 'batch:retry':
      return `retry  ${d.batchId === null ? 'between batches' : `batch ${d.batchId}`}  ${d.reason} (attempt ${d.attempt})`
    case 'batch:split':
      return `split  batch ${d.batchId}  ${d.pendingRows} rows: ${d.error}`
    case 'batch:takeover':
      return `took over batch ${d.batchId} from a dead worker`
    case 'batch:alone':
      return `batch ${d.batchId} runs alone (a process died in it): waiting for ${d.waitingFor} other worker(s)`
    case 'object:failed':
      return `failed  key ${JSON.stringify(d.key)}: ${d.error}`
    case 'throttled':
      return `throttled  ${d.reason}${e.repeats ? `  (×${count(e.repeats)})` : ''}`
    case 'sweep':
      return `sweep ${d.pass}: ${d.pending} rows still pending`
    case 'run:state':
      return `${d.from} → ${d.to}  by ${d.by}${d.reason ? ` (${d.reason})` : ''}`
    case 'run:start':
      return `${d.resumed ? 'resumed' : 'started'} here (${d.state})`
    case 'run:total':
      return d.error ? `could not count the rows pending: ${d.error}` : `${count(d.total)} rows pending`
    case 'run:skip':
      return `skipped: ${d.reason}`
    case 'run:end':
      return `ended ${d.state}${d.error ? `: ${d.error}` : ''}`
    case 'local:end':
      return `run in this process ended: ${d.state}${d.error ? `: ${d.error}` : ''}`
    case 'read-only':
      return d.readOnly ? `read-only ON by ${d.by ?? '?'}${d.message ? `: "${d.message}"` : ''}` : `read-only off`
    case 'snapshot:step':
      return `snapshot step ${d.step}  ${d.table}`
    default:
      return null
  }
}

/** Retries by reason, for the detail pane's summary: `deadlock 9, lock_timeout 5`. */
export function retryReasons(events: UiEvent[], run: string): string {
  const byReason = new Map<string, number>()
  for (const e of events)
    if (e.name === 'batch:retry' && e.data.run === run) byReason.set(String(e.data.reason), (byReason.get(String(e.data.reason)) ?? 0) + 1)
  return [...byReason].map(([reason, n]) => `${reason} ${n}`).join(', ')
}
