import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'

/** A knex instance or a transaction: store functions work inside or outside a batch. */
export type Db = Knex | Knex.Transaction

/** A pass over the table: the first scan, then sweeps for rows written in the old shape meanwhile. */
export type Phase = 'scan' | 'sweep'

/*
 * Keys (batch bounds, cursors, failed objects) are stored as JSON text and must come back as
 * the same value, or a range would drift off its rows. JSON alone loses two kinds of key:
 * bytes (a Buffer's JSON is an object the drivers cannot bind) and a BigInt (JSON refuses it).
 * Both are tagged; every other key (number, string, an array of parts for a composite key) is
 * plain JSON, as before. The text is canonical: equal keys encode to equal text.
 */
export const encodeKey = (key: unknown): string => JSON.stringify(toTagged(key))
export const decodeKey = (text: string): unknown => fromTagged(JSON.parse(text))

/** True when two keys are the same value (Buffers and composite keys compare by content). */
export const sameKey = (a: unknown, b: unknown): boolean => encodeKey(a) === encodeKey(b)

function toTagged(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('hex') }
  if (typeof value === 'bigint') return { $bigint: value.toString() }
  if (Array.isArray(value)) return value.map(toTagged)
  return value
}

function fromTagged(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromTagged)
  if (value !== null && typeof value === 'object') {
    const tagged = value as { $bytes?: string; $bigint?: string }
    if (typeof tagged.$bytes === 'string') return Buffer.from(tagged.$bytes, 'hex')
    if (typeof tagged.$bigint === 'string') return BigInt(tagged.$bigint)
  }
  return value
}

/** pg returns bigint as string and SQLite booleans as 0/1: normalise at the boundary. */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v))
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
/** A stored epoch-ms time as front ends show it: ISO 8601, or null. */
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/** The database's clock in epoch ms, read once: times written by the database compare with it on every machine. */
export async function readClock(db: Db, dialect: Dialect): Promise<number> {
  const row: { now: unknown } | undefined = await db.select(db.raw('? AS now', [dialect.clockMs(db)])).first()
  return num(row?.now)
}
