// The detail pane's lines for a snapshot-mode run: where it is and what it keeps, in words.
import type { SnapshotProgress } from '../../lib/index.ts'
import { formatDuration } from '../format.ts'
import { clock, count } from './look.ts'

/**
 * `snapshot step 3/10 copy · orders · copied 40,000 / 100,000`, then what the tables are now (the copy,
 * or what a swap or a revert kept), the read-only window, and the snapshot's error if it has one.
 */
export function snapshotLines(s: SnapshotProgress): { text: string; red?: boolean }[] {
  const where = s.stepNumber === null ? `snapshot ${s.step}` : `snapshot step ${s.stepNumber}/${s.steps.length} ${s.step}`
  const parts = [where, s.table]
  if (s.step === 'copy') parts.push(`copied ${count(s.copied)} / ${count(s.total)}`)
  if (s.swappedAt) parts.push(`swapped ${clock(s.swappedAt)}`)
  const lines: { text: string; red?: boolean }[] = [{ text: parts.join(' · ') }]
  const tables = tablesNow(s)
  if (tables) lines.push({ text: tables })
  if (s.readOnly) lines.push({ text: readOnlyWindow(s.readOnly) })
  if (s.error) lines.push({ text: `snapshot error: ${s.error}`, red: true })
  return lines
}

function tablesNow(s: SnapshotProgress): string | null {
  if (s.step === 'reverted') return `evolved table kept as ${s.shadow}; ${s.table} is back as before the swap`
  if (s.step === 'cleaned') return null
  if (s.swappedAt) return `old table kept as ${s.backup}: evolve revert swaps it back, evolve cleanup drops it`
  return `copy ${s.shadow}`
}

/** `read-only since 14:02:11, 12s so far` while on; `read-only 14:02:11–14:02:13 (2s)` once over. */
function readOnlyWindow(w: NonNullable<SnapshotProgress['readOnly']>): string {
  const took = formatDuration(w.ms / 1000)
  return w.until === null ? `read-only since ${clock(w.since)}, ${took} so far` : `read-only ${clock(w.since)}–${clock(w.until)} (${took})`
}
