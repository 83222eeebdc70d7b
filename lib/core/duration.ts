import { usage } from '../errors.ts'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
/** A read-only period longer than this (30 days) is a typo, not a plan. */
export const MAX_DURATION_MS = 30 * UNITS.d!

/** `'30m'`, `'2h'`, `'90s'`, `'1d'`, `'500ms'` or a number of milliseconds → milliseconds. */
export function parseDuration(value: string | number, what = 'read-only option "for"'): number {
  const ms = typeof value === 'number' ? value : matchDuration(value.trim())
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > MAX_DURATION_MS) {
    throw usage('E_READ_ONLY_BAD_FOR', `${what} takes a duration such as 30m, 2h, 90s or 1d (at most 30d), got "${value}"`)
  }
  return Math.round(ms)
}

function matchDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text)
  return match ? Number(match[1]) * UNITS[match[2]!]! : undefined
}
