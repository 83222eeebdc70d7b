/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, Text } from 'ink'
import type { UiRow } from './admin.ts'
import { bar, colour, count, doneFraction, eta, fit, fitWords, stateColour } from './look.ts'

/**
 * Column widths for a terminal `width` wide: the state takes 10 at 80 columns and more on wider
 * terminals (up to 24, room for `running (no workers)`); the name and the bar take what is left over.
 */
export function columns(width: number) {
  const state = Math.max(10, Math.min(24, 10 + Math.floor((width - 80) / 3)))
  const fixed = 2 + state + 1 + 6 + 9 + 8
  const rest = Math.max(20, width - fixed - 1)
  const barWidth = Math.max(8, Math.min(30, Math.floor(rest * 0.35)))
  return { name: rest - barWidth - 1, bar: barWidth, state }
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
      >{`   ${fit('MIGRATION', c.name)} ${fit('STATE', c.state)} ${fit('PROGRESS', c.bar + 6)}${'ROWS/S'.padStart(8)} ${'ETA'.padStart(6)}`}</Text>
      {shown.map((row, i) => (
        <Row key={row.name} row={row} selected={first + i === selected} c={c} />
      ))}
    </Box>
  )
}

function Row(props: { row: UiRow; selected: boolean; c: ReturnType<typeof columns> }) {
  const { row, selected, c } = props
  const p = row.progress
  const marker = selected ? ' ❯ ' : '   '
  if (row.problem) {
    return (
      <Text inverse={selected}>
        {marker + fit(row.name, c.name) + ' '}
        <Text color={colour('red')}>{fit(`invalid: ${row.problem}`, c.bar + c.state + 21)}</Text>
      </Text>
    )
  }
  const fraction = doneFraction(p)
  const pct = `${String(Math.floor(fraction * 100)).padStart(4)}%`
  return (
    <Text inverse={selected}>
      {marker + nameCell(row, c.name) + ' '}
      <Text color={stateColour(p.state)}>{stateCell(row, c.state)}</Text>
      {` ${bar(fraction, c.bar)}${pct} ${count(rateNow(p)).padStart(8)} ${eta(p.etaSeconds).padStart(6)}`}
    </Text>
  )
}

/**
 * The state as `evolve status` and the detail pane word it (stateText: `reverted (evolve cleanup …)`,
 * `running (no workers)`), cut at a word where the column is narrow; `*` marks a run driven here.
 */
export function stateCell(row: UiRow, width: number): string {
  const mark = row.local ? '*' : ''
  return (fitWords(row.progress.stateText, width - mark.length) + mark).padEnd(width)
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
