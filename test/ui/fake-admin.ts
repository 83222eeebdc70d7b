// A stand-in for the admin layer in component tests: it records calls and answers from memory.
// (The database side of the UI is covered by the tmux end-to-end test against real PostgreSQL.)
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FailedObject, RunProgress } from '../../lib/index.ts'
import { notStarted } from '../../lib/core/progress.ts'
import type { ReadOnlyState, UiAdmin, UiRow, UiSnapshot } from '../../cli/ui/admin.ts'

export function progress(name: string, over: Partial<RunProgress> = {}): RunProgress {
  return { ...notStarted(name), stateText: over.state ?? 'pending', ...over }
}

export function row(name: string, over: Partial<RunProgress> = {}, extra: Partial<UiRow> = {}): UiRow {
  return {
    name,
    progress: progress(name, over),
    problem: null,
    noFile: false,
    copyOf: null,
    workers: [],
    local: false,
    localBatchSize: null,
    ...extra,
  }
}

export class FakeAdmin implements UiAdmin {
  readonly events = new EventEmitter()
  readonly target = 'postgres://ops@db1/app'
  calls: [string, ...unknown[]][] = []
  rows: UiRow[] = []
  problem: string | null = null
  readOnlyState: ReadOnlyState | null = null
  failed: FailedObject[] = []

  constructor(readonly hasReadOnly = false) {}

  async snapshot(): Promise<UiSnapshot> {
    return { rows: this.rows, problem: this.problem, readOnly: this.readOnlyState }
  }
  private record<T>(call: [string, ...unknown[]], answer: T): Promise<T> {
    this.calls.push(call)
    return Promise.resolve(answer)
  }
  run = (name: string) => this.record(['run', name], undefined)
  retry = (name: string) => this.record(['retry', name], undefined)
  pause = (name: string) => this.record(['pause', name], 'paused')
  resume = (name: string) => this.record(['resume', name], 'running')
  cancel = (name: string) => this.record(['cancel', name], 'cancelled')
  /** The rate limit's cap on a batch, as a run handle gives it. */
  batchCap: number | null = null
  scaleBatchSize = (name: string, factor: number) =>
    this.record(['scaleBatchSize', name, factor], { size: Math.round(400 * factor), cap: this.batchCap })
  failures = (name: string, opts: { limit: number; after?: unknown }) => {
    const start = opts.after === undefined ? 0 : this.failed.findIndex((f) => f.key === opts.after) + 1
    return this.record(['failures', name, opts], this.failed.slice(start, start + opts.limit))
  }
  setReadOnly = (on: boolean, message?: string, duration?: string) => {
    // A time limit (only 30m in these tests) ends 30 minutes after `since`.
    const expiresAt = duration === undefined ? null : '2026-01-01T14:32:00.000Z'
    this.readOnlyState = on
      ? { readOnly: true, message: message ?? null, tables: null, since: '2026-01-01T14:02:00.000Z', by: 'ops@deploy-7', expiresAt }
      : { readOnly: false, message: null, tables: null, since: null, by: null, expiresAt: null }
    return this.record(['setReadOnly', on, message, duration], this.readOnlyState)
  }
  /** stopAll() waits for this, so a test sees the UI while runs stop. */
  stopping: Promise<void> = Promise.resolve()
  stopAll = () => this.record(['stopAll'], undefined).then(() => this.stopping)
  close = () => this.record(['close'], undefined)
}

/** Waits until the last frame satisfies `test` (a hang fails after 5 s, this is no speed check). */
export async function frame(lastFrame: () => string | undefined, test: string | RegExp | ((f: string) => boolean)): Promise<string> {
  const ok = (f: string) => (typeof test === 'string' ? f.includes(test) : test instanceof RegExp ? test.test(f) : test(f))
  const deadline = Date.now() + 5000
  for (;;) {
    const f = lastFrame() ?? ''
    if (ok(f)) {
      // Let React run the effects of this frame (ink subscribes key handlers in effects).
      await new Promise((resolve) => setImmediate(resolve))
      return f
    }
    if (Date.now() > deadline) throw new Error(`no frame matched ${String(test)}; last frame:\n${f}`)
    await sleep(10)
  }
}

export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  right: '\u001B[C',
  left: '\u001B[D',
  escape: '\u001B',
  enter: '\r',
  backspace: '\u007F',
}
