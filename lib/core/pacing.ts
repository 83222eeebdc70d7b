/** Bounds and goal of the adaptive batch size. */
export interface PacingOptions {
  /** The batch duration to aim for: how long the app may wait behind one batch's locks. */
  targetBatchMs: number
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
 * Grows or shrinks the batch size toward `targetBatchMs`. Each step moves at most by
 * a factor of 4 (shrink) or 1.5 (grow): a batch that ran long holds the app's rows long,
 * so shrinking is quick; growth is careful so one fast batch does not overshoot.
 */
export class BatchSizer {
  private size: number
  /** Bytes per row seen in the last batch that read rows; undefined until one did. */
  private perRow: number | undefined

  constructor(
    start: number,
    private readonly options: PacingOptions,
    private fixed = false,
  ) {
    this.size = fixed ? start : clamp(start, options.minBatchSize, options.maxBatchSize)
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

  /** Feeds back one batch: how many keys its range spanned and how long its transaction took. */
  observe(rangeSize: number, durationMs: number): void {
    const current = this.current
    if (this.fixed || rangeSize < current / 2) return // a short tail batch says little about speed
    const ratio = this.options.targetBatchMs / Math.max(1, durationMs)
    const factor = clamp(ratio, 0.25, 1.5)
    this.size = Math.round(clamp(current * factor, this.options.minBatchSize, this.options.maxBatchSize))
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value))
}
