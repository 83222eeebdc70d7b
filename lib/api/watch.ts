import type { EvolveEmitter } from '../core/events.ts'
import type { RunProgress } from '../core/progress.ts'
import { markNoticed } from '../core/notice-changes.ts'
import type { RunState } from '../store/runs.ts'
import type { ReadOnlyState } from './read-only.ts'

/** What watching reads and announces on: the admin object's parts it uses. */
export interface Watched {
  events: EvolveEmitter
  status(): Promise<RunProgress[]>
  readOnly: { status(): Promise<ReadOnlyState> }
}

export interface WatchOptions {
  /** How often the database is read. Default 1000 ms. */
  intervalMs?: number
}

/**
 * Polls every run's progress and turns what changed into events on `evolve.events`:
 * `run:state` for state changes made elsewhere (another process, another machine) and a
 * `progress` tick for each run that is active or just changed. Polling works the same on
 * both databases, and one read a second is cheap next to a batch.
 */
export function watchRuns(evolve: Watched, opts: WatchOptions): () => Promise<void> {
  const seen = new Map<string, RunState>()
  // Changes made in this process are announced as they happen: do not repeat them.
  const local = ({ run, to }: { run: string; to: RunState }) => seen.set(run, to)
  evolve.events.on('run:state', local)
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  // The read-only switch, as last seen or announced by this process (JSON, to compare).
  let readOnly: string | undefined
  const localReadOnly = (state: ReadOnlyState) => (readOnly = JSON.stringify(state))
  evolve.events.on('read-only', localReadOnly)
  // The read in flight: stopping waits for it, so that closing the connection right after
  // never aborts it (nor leaves the pool's queued acquires holding the process open).
  let reading: Promise<void> = Promise.resolve()
  const tick = () => {
    reading = read()
  }
  const read = async () => {
    try {
      for (const p of await evolve.status()) report(evolve, seen, p)
      // Reading the switch also turns it off once its `for` has run out.
      const state = await evolve.readOnly.status()
      const now = JSON.stringify(state)
      if (readOnly !== undefined && now !== readOnly) evolve.events.emit('read-only', state)
      else readOnly = now
    } catch (err) {
      evolve.events.emit('watch:error', { error: (err as Error).message })
    }
    if (!stopped) timer = setTimeout(tick, opts.intervalMs ?? 1000)
  }
  tick()
  return () => {
    stopped = true
    clearTimeout(timer)
    evolve.events.off('run:state', local)
    evolve.events.off('read-only', localReadOnly)
    return reading
  }
}

function report(evolve: Watched, seen: Map<string, RunState>, p: RunProgress): void {
  const before = seen.get(p.name)
  seen.set(p.name, p.state)
  if (before !== undefined && before !== p.state) {
    // Another process's change: a runner serving the run here must not take it for its own (serve-run.ts).
    evolve.events.emit(
      'run:state',
      markNoticed({ run: p.name, from: before, to: p.state, by: p.changedBy ?? 'unknown', reason: p.changeReason }),
    )
  }
  if (before !== p.state || p.state === 'running' || p.state === 'paused') evolve.events.emit('progress', p)
}
