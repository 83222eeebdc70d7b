/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, Text } from 'ink'
import type { UiEvent, UiRow } from './admin.ts'
import { describeEvent, retryReasons } from './describe-event.ts'
import { clock, colour, count, fit, sparkline } from './look.ts'
import { snapshotLines } from './snapshot-lines.ts'

/** The selected run: its counts, batch size, workers, rate over the last minutes and recent events. */
export function DetailPane(props: { row: UiRow | undefined; events: UiEvent[]; rates: number[]; width: number; height: number }) {
  const { row, events, rates, width, height } = props
  if (!row) return <Text dimColor> no migration selected</Text>
  const p = row.progress
  const lines: { text: string; color?: string }[] = []
  lines.push({ text: `${row.name} · ${p.stateText}${row.local ? ' · driven here' : ''}` })
  if (row.problem) lines.push({ text: row.problem, color: colour('red') })
  if (row.copyOf !== null) lines.push({ text: `the copy's run of snapshot run ${row.copyOf}: evolve run ${row.copyOf} drives it` })
  else if (row.noFile) lines.push({ text: 'no migration file here: a run the database knows (another --dir?); r needs its file' })
  // What became of the run's file (docs/migration-files.md#editing-renaming-or-deleting-a-migration-file).
  if (p.fileChanged) lines.push({ text: `file changed since its run started: ${p.fileChanged}`, color: colour('yellow') })
  if (p.renamedFrom)
    lines.push({ text: `looks like ${p.renamedFrom} renamed: r refuses to evolve its rows again`, color: colour('yellow') })
  const reasons = retryReasons(events, row.name)
  lines.push({
    text: `done ${count(p.done)} / ${count(p.total)} · failed ${count(p.failed)} · retries ${count(p.retries)}${reasons ? ` (${reasons})` : ''}`,
  })
  const size = row.localBatchSize ?? p.batchSize
  const workers = row.workers.map((w) => `${w.host} pid ${w.pid}`).join(', ') || 'none'
  lines.push({ text: `batch ${size === null ? '–' : `${count(size)} rows`} · workers: ${workers}` })
  if (p.throttled) lines.push({ text: `throttled: ${p.throttled}`, color: colour('yellow') })
  if (p.lastError) lines.push({ text: `last error: ${p.lastError}`, color: colour('red') })
  // The snapshot's error is often the run's last error too: said once.
  const snapshot = p.snapshot ? snapshotLines(p.snapshot).filter((l) => !(l.red && p.lastError && l.text.endsWith(p.lastError))) : []
  for (const l of snapshot) lines.push({ text: l.text, color: l.red ? colour('red') : undefined })
  const sparkWidth = Math.max(10, Math.min(60, width - 24))
  lines.push({
    text: `rate  ${sparkline(rates, sparkWidth)}  last ${Math.max(1, Math.round(Math.min(rates.length, sparkWidth) / 60))} min`,
  })
  const room = Math.max(0, height - lines.length)
  const mine = events
    .filter((e) => e.data.run === row.name || e.name === 'read-only')
    .map((e) => ({ at: e.at, text: describeEvent(e) }))
    .filter((e): e is { at: number; text: string } => e.text !== null)
    .slice(-room)
    .reverse()
  for (const e of mine) lines.push({ text: `${clock(e.at)}  ${e.text}`, color: colour('gray') })
  return (
    <Box flexDirection="column">
      {lines.slice(0, height).map((l, i) => (
        <Text key={i} color={l.color}>
          {' ' + fit(l.text, width - 2)}
        </Text>
      ))}
    </Box>
  )
}
