import { isoOrNull as iso } from '../store/db.ts'
import type { ReadOnlyRow } from '../store/read-only.ts'

/*
 * The read-only switch as every front end shows it, made from the stored row, and when a switch
 * turned on `for` a while has run out. Apart from the toggles (read-only.ts) because the checks
 * that refuse a conflicting toggle (read-only-conflicts.ts) read the same row the same way.
 */

/** The read-only switch as every front end shows it. */
export interface ReadOnlyState {
  readOnly: boolean
  message: string | null
  /** null = every user table. */
  tables: string[] | null
  /** ISO time it was turned on. */
  since: string | null
  /** `user@host`, an API token's name, or `run <migration>`. */
  by: string | null
  /** ISO time it turns itself off, or null. */
  expiresAt: string | null
}

export const OFF: ReadOnlyState = { readOnly: false, message: null, tables: null, since: null, by: null, expiresAt: null }

export function toState(row: ReadOnlyRow): ReadOnlyState {
  if (!row.enabled) return OFF
  return { readOnly: true, message: row.message, tables: row.tables, since: iso(row.since), by: row.by, expiresAt: iso(row.expiresAt) }
}

export const expired = (row: ReadOnlyRow) => row.expiresAt !== null && row.expiresAt <= row.now
