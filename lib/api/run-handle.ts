import type { RunProgress } from '../core/progress.ts'
import type { Runner } from '../core/runner.ts'

/** A run started in this process. */
export class RunHandle {
  /** Settles with each run's progress when the work ends (done, failed, paused-and-stopped…). */
  readonly done: Promise<RunProgress[]>

  constructor(
    private readonly runner: Runner,
    work: () => Promise<RunProgress[]>,
  ) {
    this.done = work()
    // Awaited later by the caller; a rejection meanwhile is not "unhandled".
    this.done.catch(() => {})
  }

  /** Asks the workers to finish (or roll back) their current batch and leave; the run stays resumable. */
  stop(): void {
    this.runner.stop()
  }

  /**
   * Changes the batch size of this handle's workers at once (and of those it starts later);
   * the size is then fixed, no longer adapted toward the target duration.
   *
   * @example
   * ```ts
   * const handle = await evolve.run(['20260101_lowercase-emails'])
   * handle.setBatchSize(handle.batchSize! * 2)
   * ```
   */
  setBatchSize(size: number): number {
    return this.runner.setBatchSize(size)
  }

  /** The batch size the workers use now, or null while none works. */
  get batchSize(): number | null {
    return this.runner.batchSize
  }

  /**
   * The most rows a batch takes whatever `batchSize` says: the run's `maxRowsPerSecond`, or null
   * without a rate limit (a size above it runs as batches of the cap).
   */
  get batchCap(): number | null {
    return this.runner.batchCap
  }

  /** True once stop() was called: `done` may then hold fewer runs than were asked for. */
  get stopped(): boolean {
    return this.runner.stopped
  }
}
