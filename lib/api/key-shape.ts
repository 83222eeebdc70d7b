// An `after` key for paging a run's failures must have the run's key shape: paging compares
// keys part by part, so "ap" against ["eu", 42] keys would not page at all but start over.
import { EvolveUsageError } from '../errors.ts'

/**
 * An `after` that is a key, but not of the run's shape: one part per key column for a composite
 * key, a single value for a one-column key. `parts` is how many the run's keys have (1: a single
 * value), `example` one of its keys (its first failed one).
 */
export class AfterKeyError extends EvolveUsageError {
  constructor(
    readonly run: string,
    readonly parts: number,
    readonly example: unknown,
    readonly found: unknown,
  ) {
    super('E_CONFIG', `failures option "after" must be ${keyShape(parts)}, e.g. ${keyText(example)} (found ${keyText(found)})`)
  }
}

/** Throws AfterKeyError unless `after` has the shape of `sample`, one of the run's keys. */
export function checkKeyShape(run: string, after: unknown, sample: unknown): void {
  const parts = Array.isArray(sample) ? sample.length : 1
  const given = Array.isArray(after) ? after.length : 1
  if (parts !== given || Array.isArray(sample) !== Array.isArray(after)) throw new AfterKeyError(run, parts, sample, after)
}

/**
 * `after` read as the run's keys are: a part that is hex text where the key has bytes becomes
 * those bytes. Keys are printed that way (keyText), so a key copied from a page pages on.
 */
export function likeKeys(after: unknown, sample: unknown): unknown {
  if (Array.isArray(after) && Array.isArray(sample)) return after.map((part, i) => likeKeys(part, sample[i]))
  const bytes = Buffer.isBuffer(sample) || sample instanceof Uint8Array
  return bytes && typeof after === 'string' && /^(?:[0-9a-f]{2})*$/i.test(after) ? Buffer.from(after, 'hex') : after
}

/** What a key of this many parts is: `an array of 2 parts, one per key column`. */
export function keyShape(parts: number): string {
  return parts === 1 ? 'a single value (the key has one column)' : `an array of ${parts} parts, one per key column`
}

/** A key as JSON, the form `--after` and the API's `after` take (bigints as their digits, bytes as hex). */
export function keyText(key: unknown): string {
  return JSON.stringify(key, keyJson)
}

/** JSON.stringify's replacer for keys anywhere in a value (`evolve failures --json`): bigints as their digits, bytes as hex. */
export function keyJson(_: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex')
  // A Buffer reaches the replacer as its toJSON(), { type: 'Buffer', data }.
  const buffer = v as { type?: unknown; data?: unknown }
  if (typeof v === 'object' && v !== null && buffer.type === 'Buffer' && Array.isArray(buffer.data))
    return Buffer.from(buffer.data).toString('hex')
  return v
}
