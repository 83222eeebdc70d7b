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

  /** True once stop() was called: `done` may then hold fewer runs than were asked for. */
  get stopped(): boolean {
    return this.runner.stopped
  }
}
