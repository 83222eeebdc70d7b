/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, Text } from 'ink'
import type { UiRow } from './admin.ts'
import { bar, colour, count, eta, fit, stateColour } from './look.ts'

/** Column widths for a terminal `width` wide: the name and the bar take what is left over. */
export function columns(width: number) {
  const fixed = 2 + 11 + 6 + 9 + 8
  const rest = Math.max(20, width - fixed - 1)
  const barWidth = Math.max(8, Math.min(30, Math.floor(rest * 0.35)))
  return { name: rest - barWidth - 1, bar: barWidth }
}

/** One line per migration; `height` lines at most, scrolled so the selected row shows. */
export function RunTable(props: { rows: UiRow[]; selected: number; width: number; height: number }) {
  const { rows, selected, width, height } = props
  const c = columns(width)
  const first = Math.max(0, Math.min(selected - height + 1, rows.length - height))
  const shown = rows.slice(first, first + height)
  return (
    <Box flexDirection="column">
      <Text
        bold
      >{`   ${fit('MIGRATION', c.name)} ${fit('STATE', 10)} ${fit('PROGRESS', c.bar + 6)}${'ROWS/S'.padStart(8)} ${'ETA'.padStart(6)}`}</Text>
      {shown.map((row, i) => (
        <Row key={row.name} row={row} selected={first + i === selected} c={c} />
      ))}
    </Box>
  )
}

function Row(props: { row: UiRow; selected: boolean; c: { name: number; bar: number } }) {
  const { row, selected, c } = props
  const p = row.progress
  const marker = selected ? ' ❯ ' : '   '
  if (row.problem) {
    return (
      <Text inverse={selected}>
        {marker + fit(row.name, c.name) + ' '}
        <Text color={colour('red')}>{fit(`invalid: ${row.problem}`, c.bar + 31)}</Text>
      </Text>
    )
  }
  const fraction = p.state === 'done' ? 1 : p.total ? p.done / Math.max(1, p.total) : 0
  const pct = `${String(Math.floor(fraction * 100)).padStart(4)}%`
  const state = p.state + (row.local ? '*' : '')
  return (
    <Text inverse={selected}>
      {marker + nameCell(row, c.name) + ' '}
      <Text color={stateColour(p.state)}>{fit(state, 10)}</Text>
      {` ${bar(fraction, c.bar)}${pct} ${count(rateNow(p)).padStart(8)} ${eta(p.etaSeconds).padStart(6)}`}
    </Text>
  )
}

/** ROWS/S is the rate now: none for a run that is not running (rowsPerSecond is then its average). */
function rateNow(p: UiRow['progress']): number | null {
  return p.state === 'running' ? p.rowsPerSecond : null
}

/** The name, a snapshot run's copy indented under it, and `(no file here)` for another directory's run. */
export function nameCell(row: UiRow, width: number): string {
  if (row.copyOf !== null) return fit(`  └ ${row.name}`, width)
  if (!row.noFile) return fit(row.name, width)
  const mark = ' (no file here)'
  return width > mark.length + 8 ? fit(row.name, width - mark.length) + mark : fit(row.name, width)
}
