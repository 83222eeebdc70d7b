/** Bounds and goal of the adaptive batch size. */
export interface PacingOptions {
  /** The batch duration to aim for: how long the app may wait behind one batch's locks. */
  targetBatchMs: number
  minBatchSize: number
  maxBatchSize: number
}

export const PACING_DEFAULTS: PacingOptions = { targetBatchMs: 50, minBatchSize: 10, maxBatchSize: 20_000 }

/**
 * Grows or shrinks the batch size toward `targetBatchMs`. Each step moves at most by
 * a factor of 4 (shrink) or 1.5 (grow): a batch that ran long holds the app's rows long,
 * so shrinking is quick; growth is careful so one fast batch does not overshoot.
 */
export class BatchSizer {
  private size: number

  constructor(
    start: number,
    private readonly options: PacingOptions,
    private fixed = false,
  ) {
    this.size = fixed ? start : clamp(start, options.minBatchSize, options.maxBatchSize)
  }

  get current(): number {
    return this.size
  }

  /** An operator's choice (`+`/`-` in the UI): this size from now on, no longer adapted. */
  fix(size: number): void {
    this.fixed = true
    this.size = Math.max(1, Math.round(size))
  }

  /** Feeds back one batch: how many keys its range spanned and how long its transaction took. */
  observe(rangeSize: number, durationMs: number): void {
    if (this.fixed || rangeSize < this.size / 2) return // a short tail batch says little about speed
    const ratio = this.options.targetBatchMs / Math.max(1, durationMs)
    const factor = clamp(ratio, 0.25, 1.5)
    this.size = Math.round(clamp(this.size * factor, this.options.minBatchSize, this.options.maxBatchSize))
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value))
}
