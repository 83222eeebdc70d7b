import type { Knex } from 'knex'

/** A knex instance or a transaction: store functions work inside or outside a batch. */
export type Db = Knex | Knex.Transaction

export const encodeKey = (key: unknown): string => JSON.stringify(key)
export const decodeKey = (text: string): unknown => JSON.parse(text)

/** pg returns bigint as string and SQLite booleans as 0/1: normalise at the boundary. */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v))
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
