// Small text helpers shared by the UI's components: bars, sparklines, numbers, colours.

/** Colours are off when NO_COLOR is set (https://no-color.org): the words carry the meaning. */
export function colour(name: string | undefined): string | undefined {
  return process.env.NO_COLOR ? undefined : name
}

const STATE_COLOURS: Record<string, string> = { running: 'green', paused: 'yellow', failed: 'red', cancelled: 'magenta', done: 'gray' }

export function stateColour(state: string): string | undefined {
  return colour(STATE_COLOURS[state])
}

/**
 * How far a run is, for its bar and percentage: only a done run reads 100 %. A sweep finds rows the
 * app wrote again after the scan evolved them, so done can reach the total while work remains.
 */
export function doneFraction(p: { state: string; done: number; total: number | null }): number {
  if (p.state === 'done') return 1
  return p.total ? Math.min(0.99, p.done / Math.max(1, p.total)) : 0
}

export function bar(fraction: number, width: number): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width)
  return '█'.repeat(full) + '░'.repeat(width - full)
}

const TICKS = '▁▂▃▄▅▆▇█'

/** The last `width` values as a sparkline, scaled to their own maximum. */
export function sparkline(values: number[], width: number): string {
  const shown = values.slice(-width)
  const max = Math.max(1, ...shown)
  return shown.map((v) => TICKS[Math.min(TICKS.length - 1, Math.floor((v / max) * (TICKS.length - 1)))]).join('')
}

export function count(n: number | null): string {
  return n === null ? '–' : n.toLocaleString('en-US')
}

export function eta(seconds: number | null): string {
  if (seconds === null) return '–'
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = String(Math.floor(seconds % 60)).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

export function clock(at: number | string): string {
  return new Date(at).toTimeString().slice(0, 8)
}

/** Cuts `text` to `width` columns, marking the cut. */
export function fit(text: string, width: number): string {
  if (width <= 0) return ''
  return text.length <= width ? text.padEnd(width) : `${text.slice(0, Math.max(0, width - 1))}…`
}

/**
 * Cuts `text` to at most `width` columns, marking the cut: before its parenthesis where that fits
 * (`reverted…` for `reverted (evolve cleanup …)`), else at a word (`running…`); no padding. A first
 * word longer than `width` is cut as fit does.
 */
export function fitWords(text: string, width: number): string {
  if (text.length <= width) return text
  if (width <= 1) return '…'.slice(0, width)
  const paren = text.indexOf(' (')
  if (paren > 0 && paren < width) return `${text.slice(0, paren)}…`
  const head = text.slice(0, width - 1)
  const end = head.search(/[\s,(]+\S*$/)
  return `${end > 0 ? head.slice(0, end) : head}…`
}
