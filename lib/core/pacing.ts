/** Bounds and goal of the adaptive batch size. */
export interface PacingOptions {
  /** The batch duration to aim for: how long the app may wait behind one batch's locks. */
  targetBatchMs: number
  /**
   * The batch duration to aim for while no other connection writes, where the dialect can tell
   * (SQLite); undefined: `targetBatchMs` always.
   */
  quietTargetBatchMs?: number
  minBatchSize: number
  maxBatchSize: number
  /**
   * Row data one transform/up batch may hold in memory (the key and the declared `columns`).
   * A batch reaching it is cut short; the sizer then plans batches of about this many bytes.
   */
  maxBatchBytes: number
}

export const PACING_DEFAULTS: PacingOptions = { targetBatchMs: 50, minBatchSize: 10, maxBatchSize: 20_000, maxBatchBytes: 32 * 1024 * 1024 }

/**
 * Rows a batch may span when the caller sets no `maxBatchSize`, by what the batch holds:
 * - `set` holds no rows in memory: time alone bounds it.
 * - `transform` holds its rows as JavaScript objects: `maxBatchBytes` bounds their data, this their
 *   count (~100–300 bytes of object overhead each). Above 20,000, SQLite transform batches reach
 *   their 75 ms (1M rows: 23 batches instead of 52, 30 % faster, peak RSS +13 MB; docs/benchmarks.md).
 * - `up` hands its rows to the migration's code, which may bind every key in one statement:
 *   PostgreSQL takes at most 65,535 parameters, so it stays at 20,000 (PACING_DEFAULTS).
 */
export function defaultMaxBatchSize(mode: 'set' | 'transform' | 'up'): number {
  return mode === 'set' ? 1_000_000 : mode === 'transform' ? 100_000 : PACING_DEFAULTS.maxBatchSize
}

/**
 * Grows or shrinks the batch size toward the target duration. A slow batch shrinks the
 * size at once, by up to 4 ×: it held the app's rows long. Growth is careful, 1.5 × a step,
 * so one fast batch does not overshoot; only a batch far under the target (a third or less)
 * grows by half the gap, up to 4 ×, so a run starting small reaches its size in a few batches.
 */
export class BatchSizer {
  private size: number
  /** Bytes per row seen in the last batch that read rows; undefined until one did. */
  private perRow: number | undefined
  private target: number

  constructor(
    start: number,
    private readonly options: PacingOptions,
    private fixed = false,
  ) {
    this.size = fixed ? start : clamp(start, options.minBatchSize, options.maxBatchSize)
    this.target = options.targetBatchMs
  }

  /** The batch duration aimed at now. */
  get targetMs(): number {
    return this.target
  }

  /**
   * Aims at another duration from the next batch on (SQLite: shorter while the app writes):
   * the size moves in proportion at once, without waiting for a batch to overrun.
   */
  retarget(targetMs: number): void {
    if (targetMs === this.target) return
    if (!this.fixed)
      this.size = Math.round(clamp((this.size * targetMs) / this.target, this.options.minBatchSize, this.options.maxBatchSize))
    this.target = targetMs
  }

  /** Rows for the next batch: the time-learned size, lowered to what fits the byte cap. */
  get current(): number {
    if (this.perRow === undefined || this.fixed) return this.size
    return Math.max(1, Math.min(this.size, Math.floor(this.options.maxBatchBytes / Math.max(1, this.perRow))))
  }

  /** True once the size no longer adapts (`--batch-size`, or an operator's choice). */
  get isFixed(): boolean {
    return this.fixed
  }

  /** The bytes per row seen so far, for sizing the reads of the next batch. */
  get rowBytes(): number | undefined {
    return this.perRow
  }

  /** Feeds back one batch's row data (transform/up): rows read and their bytes. */
  observeBytes(rows: number, bytes: number): void {
    if (rows > 0) this.perRow = bytes / rows
  }

  /** An operator's choice (`+`/`-` in the UI): this size from now on, no longer adapted. */
  fix(size: number): void {
    this.fixed = true
    this.size = Math.max(1, Math.round(size))
  }

  /**
   * Feeds back a batch a rate limit cut short of the size (to what was left of the second). Fast, it
   * says little about a full one (its fixed costs weigh more); slower than the target, it says a full
   * one would be slower still, and the size shrinks as after a slow full batch. Where the budget is
   * spent in remnants, no batch may span the size again: without this the size would never shrink.
   */
  observeTrimmed(durationMs: number): void {
    if (this.fixed || durationMs <= this.target) return
    const factor = Math.max(0.25, this.target / durationMs)
    this.size = Math.round(clamp(this.current * factor, this.options.minBatchSize, this.options.maxBatchSize))
  }

  /** Feeds back one batch: how many keys its range spanned and how long its transaction took. */
  observe(rangeSize: number, durationMs: number): void {
    const current = this.current
    if (this.fixed || rangeSize < current / 2) return // a short tail batch says little about speed
    const ratio = this.target / Math.max(1, durationMs)
    const factor = ratio >= 3 ? Math.min(4, ratio / 2) : clamp(ratio, 0.25, 1.5)
    this.size = Math.round(clamp(current * factor, this.options.minBatchSize, this.options.maxBatchSize))
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value))
}
