/*
 * The order of keys as values, for paging through keys stored as JSON text (whose text order
 * puts 105 before 14). Keys come back from the drivers and from users in different types for
 * the same column: pg gives bigint and numeric as strings ("9007199254740993", "1.50"), and
 * `--after 14` is a number. So numbers, bigints and decimal strings compare exactly, by their
 * decimal digits (no rounding through a double), and 14, 14n and "14" are the same key.
 * Other strings (text, uuid, ISO times) compare by code unit, bytes byte by byte, and
 * composite keys element by element, a shorter prefix first. Different kinds of key, which a
 * column does not mix, are ordered number < string < bytes < composite < anything else.
 */
import { encodeKey } from './db.ts'

export function compareKeys(a: unknown, b: unknown): number {
  const ka = kindOf(a)
  const kb = kindOf(b)
  if (ka !== kb) return ka - kb
  switch (ka) {
    case Kind.Number: {
      const byValue = compareDecimals(decimalOf(a)!, decimalOf(b)!)
      // Two distinct strings of one value ("007" and "7") are distinct text keys, not one.
      if (byValue !== 0 || typeof a !== 'string' || typeof b !== 'string') return byValue
      return compareText(a, b)
    }
    case Kind.Text:
      return compareText(a as string, b as string)
    case Kind.Bytes:
      return Buffer.compare(a as Uint8Array, b as Uint8Array)
    case Kind.Composite: {
      const [pa, pb] = [a as unknown[], b as unknown[]]
      for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
        const c = compareKeys(pa[i], pb[i])
        if (c !== 0) return c
      }
      return pa.length - pb.length
    }
    default:
      return compareText(encodeKey(a), encodeKey(b))
  }
}

// The kinds of key in their order across kinds.
const Kind = { Number: 0, Text: 1, Bytes: 2, Composite: 3, Other: 4 } as const

function kindOf(v: unknown): number {
  if (decimalOf(v)) return Kind.Number
  if (typeof v === 'string') return Kind.Text
  if (v instanceof Uint8Array) return Kind.Bytes
  if (Array.isArray(v)) return Kind.Composite
  return Kind.Other
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** A number as its sign and digits: `int` without leading zeros, `frac` without trailing ones. */
interface Decimal {
  negative: boolean
  int: string
  frac: string
}

// What PostgreSQL prints for bigint and numeric; "007" or "1e3" stay text.
const DECIMAL_TEXT = /^-?(0|[1-9]\d*)(\.\d+)?$/
// A JS number's own text may have an exponent: 1e+21, 5e-7.
const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/

function decimalOf(v: unknown): Decimal | undefined {
  let text: string
  if (typeof v === 'bigint') text = v.toString()
  else if (typeof v === 'number' && Number.isFinite(v)) text = String(v)
  else if (typeof v === 'string' && DECIMAL_TEXT.test(v)) text = v
  else return undefined
  const [, sign, int, frac = '', exp = '0'] = NUMBER_TEXT.exec(text)!
  // Move the point by the exponent: all digits, then where the point falls among them.
  const digits = int! + frac
  const point = int!.length + Number(exp)
  const padded = point < 0 ? '0'.repeat(-point) + digits : digits.padEnd(point, '0')
  const at = Math.max(point, 0)
  const whole = padded.slice(0, at).replace(/^0+/, '')
  const fraction = padded.slice(at).replace(/0+$/, '')
  // -0 is 0.
  return { negative: sign === '-' && (whole !== '' || fraction !== ''), int: whole, frac: fraction }
}

function compareDecimals(a: Decimal, b: Decimal): number {
  if (a.negative !== b.negative) return a.negative ? -1 : 1
  const magnitude = a.int.length - b.int.length || compareText(a.int, b.int) || compareText(a.frac, b.frac)
  return a.negative ? -magnitude : magnitude
}
