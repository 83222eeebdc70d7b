import type { EventEmitter } from 'node:events'
import type { FailedObject, ReadOnlyState, RunProgress } from '../../lib/index.ts'

export type { ReadOnlyState }

/** The read-only part of the admin object the UI uses (component tests hand it a fake). */
export interface ReadOnlySwitch {
  status(): Promise<ReadOnlyState>
  enable(opts: { message?: string; by?: string; for?: string }): Promise<ReadOnlyState>
  disable(opts?: { by?: string }): Promise<ReadOnlyState>
}

/** The read-only switch of an admin object, or undefined when it has none (a fake without one). */
export function readOnlyOf(evolve: object): ReadOnlySwitch | undefined {
  const candidate = (evolve as { readOnly?: Partial<ReadOnlySwitch> }).readOnly
  if (!candidate || typeof candidate !== 'object') return undefined
  const { status, enable, disable } = candidate
  return typeof status === 'function' && typeof enable === 'function' && typeof disable === 'function'
    ? (candidate as ReadOnlySwitch)
    : undefined
}

/** One dashboard row: a migration and its run, or why it cannot be shown. */
export interface UiRow {
  name: string
  progress: RunProgress
  /** The migration file failed to load or validate: the row says why; the others stay usable. */
  problem: string | null
  /** A run the database knows with no file in this migrations directory (another `--dir`'s): shown with its state. */
  noFile: boolean
  /** A snapshot run's copy run (`<name>.shadow`): the name of that snapshot run; shown under it. */
  copyOf: string | null
  workers: { host: string; pid: number }[]
  /** Driven by a run handle in this process (so `+`/`-` and a clean stop on quit apply). */
  local: boolean
  /** The batch size of this process's workers, when local. */
  localBatchSize: number | null
}

/** What the whole dashboard shows at one moment. */
export interface UiSnapshot {
  rows: UiRow[]
  /** A problem with the whole picture: no migrations directory, the database gone… */
  problem: string | null
  readOnly: ReadOnlyState | null
}

/** An event for the detail pane: the core's events by name, `read-only`, and `local:end`. */
export interface UiEvent {
  name: string
  data: Record<string, unknown>
  at: number
  /** How many times it came in a row (the dashboard folds repeated `throttled` holds into one). */
  repeats?: number
}

/**
 * Everything the UI's components may ask of the admin layer. The real one runs an `Evolve`
 * on a worker thread (remote-admin.ts); component tests hand in a fake.
 */
export interface UiAdmin {
  /** Emits `event` (UiEvent) for every core event and read-only change. */
  readonly events: EventEmitter
  /** Where this UI points: shown in the header. */
  readonly target: string
  /** Whether the read-only switch exists in this admin layer. */
  readonly hasReadOnly: boolean
  snapshot(): Promise<UiSnapshot>
  run(name: string): Promise<void>
  retry(name: string): Promise<void>
  pause(name: string): Promise<string>
  resume(name: string): Promise<string>
  cancel(name: string): Promise<string>
  /** Multiplies the batch size of a run in this process; returns the new size, and the rate limit's cap on it (or null). */
  scaleBatchSize(name: string, factor: number): Promise<{ size: number; cap: number | null }>
  failures(name: string, opts: { limit: number; after?: unknown }): Promise<FailedObject[]>
  /** On with a banner message and, if given, a time limit (`30m`, `2h`: it turns itself off then); or off. */
  setReadOnly(on: boolean, message?: string, duration?: string): Promise<ReadOnlyState>
  /** Stops the runs driven here (each finishes or rolls back its batch) and waits for them. */
  stopAll(): Promise<void>
  close(): Promise<void>
}
