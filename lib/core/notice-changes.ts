import type { Knex } from 'knex'
import type { RunState } from '../store/runs.ts'
import type { Store } from '../store/store.ts'
import type { EvolveEmitter, EvolveEvents } from './events.ts'

type StateEvent = EvolveEvents['run:state'][0]

/** How often a served run's row is read for changes made elsewhere, at least. */
const NOTICE_EVERY_MS = 1000

/** The `run:state` events a `noticeChanges` announced: changes made elsewhere, not by this process. */
const noticed = new WeakSet<StateEvent>()

/** True for a `run:state` that announces another process's change (noticed here, not made here). */
export function isNoticed(event: StateEvent): boolean {
  return noticed.has(event)
}

/** Marks `event` as another process's change, seen by a reader of the run row (noticeChanges, the admin layer's watch()). */
export function markNoticed(event: StateEvent): StateEvent {
  noticed.add(event)
  return event
}

export interface Noticing {
  /** Reads the run now (a control change was heard). */
  look(): void
  /** Announces what `state` shows, if it changed (the workers saw it first), and stops reading. */
  stop(last?: { state: RunState; changedBy: string | null; changeReason: string | null }): Promise<void>
}

/**
 * While this process serves run `name`: a change of its state made by another process (a pause,
 * resume or cancel from the CLI, the UI or the admin API, on any machine) is announced as
 * `run:state` with who made it and why, from the run row (changed_by, change_reason). Its workers
 * only obey such a change; without this the runner's log went silent for a whole pause. Changes
 * made in this process are announced where they are made, and so are not repeated here.
 */
export function noticeChanges(store: Store, knex: Knex, events: EvolveEmitter, name: string, opts: { pollMs: number }): Noticing {
  // As first read (or announced here): the baseline a change is told against.
  let seen: RunState | undefined
  const heard = (e: StateEvent) => void (e.run === name && (seen = e.to))
  events.on('run:state', heard)
  const announce = (state: RunState, by: string | null, reason: string | null) => {
    if (seen === undefined || seen === state) {
      seen = state
      return
    }
    const event = markNoticed({ run: name, from: seen, to: state, by: by ?? 'unknown', reason })
    seen = state
    events.emit('run:state', event)
  }
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let reading: Promise<void> = Promise.resolve()
  const read = async () => {
    try {
      const run = await store.runs.get(knex, name)
      // A change made here is announced once its writer goes on: let it, before deciding it is another's.
      await new Promise((resolve) => setImmediate(resolve))
      if (run && !stopped) announce(run.state, run.changedBy, run.changeReason)
    } catch {
      // The workers meet the same database and report what fails; this only tells the log.
    }
  }
  // Reads go one after another (stop() waits for the last); one timer at a time, however many reads
  // `look()` queued: each read ends by setting it anew.
  const schedule = () => {
    clearTimeout(timer)
    if (stopped) return
    timer = setTimeout(
      () => {
        reading = reading.then(read).finally(schedule)
      },
      Math.max(opts.pollMs, NOTICE_EVERY_MS),
    )
    timer.unref()
  }
  reading = read().finally(schedule)
  return {
    look() {
      if (stopped) return
      clearTimeout(timer)
      reading = reading.then(read).finally(schedule)
    },
    async stop(last) {
      stopped = true
      clearTimeout(timer)
      await reading
      events.off('run:state', heard)
      if (last) announce(last.state, last.changedBy, last.changeReason)
    },
  }
}
