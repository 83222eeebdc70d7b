import type { RunProgress } from '../lib/index.ts'

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '-'
  if (seconds < 60) return `${Math.round(seconds)}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`
}

/** One human line for a run: what `run` prints as progress and `status` as a row. */
export function progressLine(p: RunProgress): string {
  const total = p.total === null ? '' : `/${p.total}`
  // A done run handled every row (its total is done + failed): 100 %, whatever failed.
  const share = p.state === 'done' ? 100 : Math.min(100, Math.floor((100 * p.done) / Math.max(1, p.total ?? 0)))
  const pct = p.total || p.state === 'done' ? ` (${share}%)` : ''
  const parts = [`${p.name}: ${p.stateText}`, `${p.done}${total} rows${pct}`]
  if (p.failed > 0) parts.push(`${p.failed} failed`)
  if (p.retries > 0) parts.push(`${p.retries} retries`)
  if (p.rowsPerSecond !== null) parts.push(`${p.rowsPerSecond} rows/s`)
  if (p.etaSeconds !== null) parts.push(`ETA ${formatDuration(p.etaSeconds)}`)
  if (p.phase === 'sweep') parts.push(`sweep ${p.sweepPass}`)
  if (p.batchSize !== null && p.state === 'running') parts.push(`batch ${p.batchSize}`)
  if (p.workers > 1) parts.push(`${p.workers} workers`)
  if (p.snapshot) parts.push(snapshotText(p.snapshot))
  return parts.join(', ')
}

/** `snapshot step 3/10 copy 40000/100000, read-only 12s`: where a snapshot-mode run is, and its read-only window. */
function snapshotText(s: NonNullable<RunProgress['snapshot']>): string {
  const step = s.stepNumber === null ? `snapshot ${s.step}` : `snapshot step ${s.stepNumber}/${s.steps.length} ${s.step}`
  const detail = s.step === 'copy' ? ` ${s.copied}/${s.total ?? '?'}` : s.step === 'evolve' && s.evolved ? ` ${s.evolved.done} rows` : ''
  const window = s.readOnly ? `, read-only ${s.readOnly.until ? 'was ' : ''}${formatDuration(s.readOnly.ms / 1000)}` : ''
  const backup = s.step === 'done' ? `, backup ${s.backup}` : ''
  return `${step}${detail}${window}${backup}`
}

/** A fixed-width table: first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
