import type { AnyRow } from '../api/define-migration.ts'

/*
 * Some values do not survive the trip through JavaScript: a timestamp is read as a Date holding
 * milliseconds only (a zone-less one in the process's zone), an integer beyond 2^53 is read
 * rounded (SQLite), an interval is read as an object. A transform that returns the row it was
 * given (`{ ...row, email }`) hands them back as read: written back, they would change. So the
 * values of that kind are noted before the transform, and a column returned with the value
 * noted is left out of the write. Text, safe numbers, JSON and bytes come back exact, and are
 * not noted (a JSON object may have been changed in place: it is written as returned).
 */

/** The lossy values of one row as read: column → what tells the value (see stampOf). */
export type Noted = Map<string, unknown> | undefined

/** Notes the values of `row` that would change if written back as read; undefined when none. */
export function noteLossy(row: AnyRow, columns: string[]): Noted {
  let noted: Noted
  for (const column of columns) {
    const stamp = stampOf(row[column])
    if (stamp !== undefined) (noted ??= new Map()).set(column, stamp)
  }
  return noted
}

/** `changes` without the columns returned with the value noted for them (the very value read). */
export function dropUnchanged(changes: AnyRow, noted: Noted): AnyRow {
  if (!noted) return changes
  let kept: AnyRow | undefined
  for (const [column, stamp] of noted) {
    if (!(column in changes) || stampOf(changes[column]) !== stamp) continue
    kept ??= { ...changes }
    delete kept[column]
  }
  return kept ?? changes
}

/** What identifies a lossy value, comparably (a new Date of the same time is the same); undefined for exact kinds. */
function stampOf(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value) ? value : undefined
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || Array.isArray(value)) return undefined
  if (value instanceof Date) return `date:${value.getTime()}`
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) return undefined // JSON
  // A driver's own type (pg's interval object): told by its JSON, which its fields make.
  return `object:${JSON.stringify(value)}`
}
