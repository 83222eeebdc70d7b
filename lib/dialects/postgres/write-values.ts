import type { ValueKind } from './column-types.ts'

/*
 * How a value returned by a transform reaches a column. Both write-back forms give the same
 * result: the typed-array form sends each value as the text the jsonb form's JSON value stands
 * for (jsonb_populate_recordset passes a JSON string's contents and any other JSON value's text
 * to the column type's input; json/jsonb columns take the JSON value itself; JSON null is NULL).
 */

/** A value as the JSON document of the jsonb write-back holds it. */
export function toJsonValue(value: unknown): unknown {
  // bytea's text input accepts \x-hex; a Buffer's default JSON form would not parse.
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Date) return localTimestamp(value)
  return driverText(value) ?? value
}

/**
 * The text of a value of the driver's own types (an interval read from PostgreSQL), as pg sends
 * it (`toPostgres`): its JSON form ({"days":1}) is no input the column type reads.
 */
function driverText(value: unknown): string | undefined {
  const toPostgres = (value as { toPostgres?: unknown } | null)?.toPostgres
  return typeof toPostgres === 'function' ? String(toPostgres.call(value, (v: unknown) => v)) : undefined
}

/** A value as one element of a typed array: the text its column type's input reads, or null for NULL. */
export function toElement(kind: Exclude<ValueKind, null>, value: unknown): string | null {
  if (value === null || value === undefined) return null
  if (kind === 'json') return JSON.stringify(toJsonValue(value)) ?? null
  switch (typeof value) {
    case 'string':
      return value
    case 'number':
      return Number.isFinite(value) ? String(value) : null // JSON has no NaN/Infinity: the jsonb form writes NULL
    case 'boolean':
    case 'bigint':
      return String(value)
    case 'object':
      if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`
      if (value instanceof Date) return localTimestamp(value)
      return driverText(value) ?? objectText(value)
    default:
      return null // functions and symbols: JSON.stringify leaves them out, so the jsonb form writes NULL
  }
}

/** An object's JSON, or the string it serialises to (a toJSON returning a string, as decimal libraries do). */
function objectText(value: object): string | null {
  const json = JSON.stringify(value)
  if (json === undefined) return null
  const back: unknown = JSON.parse(json)
  return typeof back === 'string' ? back : back === null ? null : json
}

/**
 * A Date as pg sends it: local time with its offset. JSON's UTC form would put the UTC
 * clock time into a `timestamp without time zone` column, unlike every other write.
 */
export function localTimestamp(date: Date): string {
  const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0')
  const offset = -date.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  )
}
