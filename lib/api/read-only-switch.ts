import { EventEmitter } from 'node:events'
import type { Knex } from 'knex'
import { type ReadOnlyState, readOnlyStatus } from '../core/read-only.ts'
import { EvolveUsageError, shown, usage } from '../errors.ts'
import { storeFor } from '../store/store.ts'
import { checkOptions, isAdminObject, isKnex } from './check-options.ts'

export interface ReadOnlySwitchOptions {
  /**
   * How often the state is read where the database cannot push changes (SQLite), and as a safety
   * net on PostgreSQL: a whole number of milliseconds, at least 10. Default 500 ms / 5 s.
   */
  pollMs?: number
}

/** Polling faster than this would be a query storm on the app's pool, not a faster switch. */
export const MIN_POLL_MS = 10

const SWITCH_OPTIONS = {
  pollMs: {
    takes: `a whole number of milliseconds, at least ${MIN_POLL_MS}, e.g. 500`,
    ok: (v: unknown) => Number.isSafeInteger(v) && (v as number) >= MIN_POLL_MS,
  },
}

/** The switch's arguments, checked before anything is read: a knex instance and known options. */
function checkSwitchArgs(knex: unknown, opts: unknown): ReadOnlySwitchOptions {
  if (!isKnex(knex)) {
    throw usage(
      'E_CONFIG',
      isAdminObject(knex)
        ? "createReadOnlySwitch needs a knex instance, not the admin object: pass evolve.knex (or your app's knex)"
        : `createReadOnlySwitch needs your app's knex instance as its first argument, e.g. createReadOnlySwitch(knex) (found ${shown(knex)})`,
    )
  }
  return checkOptions<ReadOnlySwitchOptions>('createReadOnlySwitch', opts, SWITCH_OPTIONS)
}

/** The state is there but this connection cannot read it (lib/store/tracking-location.ts): not "off". */
const UNREADABLE = new Set(['E_TRACKING_PRIVILEGE', 'E_TRACKING_SCHEMA'])

const OFF: ReadOnlyState = { readOnly: false, message: null, tables: null, since: null, by: null, expiresAt: null }

/**
 * The switch's one event, `change`, typed here on a plain EventEmitter rather than by @types/node's
 * generic one, which accepts any name since @types/node 25 (see lib/api/events.ts).
 */
type ChangeListener = (state: ReadOnlyState) => void
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- types the inherited EventEmitter methods, declares nothing new
export interface ReadOnlySwitch {
  on(event: 'change', listener: ChangeListener): this
  once(event: 'change', listener: ChangeListener): this
  off(event: 'change', listener: ChangeListener): this
  addListener(event: 'change', listener: ChangeListener): this
  removeListener(event: 'change', listener: ChangeListener): this
  emit(event: 'change', state: ReadOnlyState): boolean
  listenerCount(event: 'change', listener?: ChangeListener): number
  removeAllListeners(event?: 'change'): this
}

/**
 * The app's view of the read-only switch, kept in memory: `isReadOnly()` costs no query.
 * PostgreSQL pushes changes (LISTEN/NOTIFY on a session of its own); SQLite is polled.
 * Emits `change` with the new state. Once its `for` runs out, whoever notices first (this
 * switch included) turns it off.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class ReadOnlySwitch extends EventEmitter {
  /** The last state read; off until `ready` resolves. */
  state: ReadOnlyState = OFF
  /** The last error reading the state (the switch keeps its last state and tries again), or null. */
  lastError: Error | null = null
  /**
   * Resolves once the state was read the first time. Rejects (with `lastError`) when the state is
   * there but this connection may not read it (a missing GRANT, another search_path): "off" would
   * hide read-only from the app while the database refuses its writes. The switch keeps trying.
   */
  readonly ready: Promise<void>
  private closed = false
  private poll?: NodeJS.Timeout
  private expiry?: NodeJS.Timeout
  private listener?: { close(): Promise<void> }
  private reading?: Promise<void>

  constructor(
    private readonly knex: Knex,
    opts: ReadOnlySwitchOptions = {},
  ) {
    super()
    opts = checkSwitchArgs(knex, opts)
    const guard = storeFor(knex).dialect.readOnlyGuard
    const pollMs = opts.pollMs ?? (guard?.listen ? 5000 : 500)
    this.ready = (async () => {
      this.listener = await guard?.listen?.(knex, () => void this.refresh())
      await this.refresh()
      if (this.closed) return
      this.poll = setInterval(() => void this.refresh(), pollMs)
      this.poll.unref()
      if (this.lastError instanceof EvolveUsageError && UNREADABLE.has(this.lastError.code)) throw this.lastError
    })()
    // Rejected for whoever awaits it; an app that does not is not ended by an unhandled rejection.
    this.ready.catch(() => {})
  }

  /** True while read-only is on for `table` (or, without a table, for any table). */
  isReadOnly(table?: string): boolean {
    const { readOnly, tables } = this.state
    return readOnly && (table === undefined || tables === null || tables.includes(table))
  }

  /** The operator's message while on, else null. */
  get message(): string | null {
    return this.state.message
  }

  /** When it was turned on (ISO), else null. */
  get since(): string | null {
    return this.state.since
  }

  /** Reads the state now (the switch does this by itself; for tests and impatient callers). */
  refresh(): Promise<void> {
    // One read at a time: a notification arriving during a read is covered by reading again after it.
    const next = (this.reading ?? Promise.resolve()).then(() => this.read())
    this.reading = next
    return next
  }

  private async read(): Promise<void> {
    if (this.closed) return
    try {
      const state = await readOnlyStatus(storeFor(this.knex), this.knex)
      this.lastError = null
      this.scheduleExpiry(state)
      if (JSON.stringify(state) === JSON.stringify(this.state)) return
      this.state = state
      this.emit('change', state)
    } catch (err) {
      this.lastError = err as Error
    }
  }

  /** Wakes up when the `for` runs out, so it turns off on time even with no one else looking. */
  private scheduleExpiry(state: ReadOnlyState): void {
    clearTimeout(this.expiry)
    if (!state.expiresAt || this.closed) return
    this.expiry = setTimeout(() => void this.refresh(), Math.max(0, Date.parse(state.expiresAt) - Date.now()) + 50)
    this.expiry.unref()
  }

  /** Stops listening and polling; the knex instance stays open. */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.poll)
    clearTimeout(this.expiry)
    await this.ready.catch(() => {})
    await this.listener?.close()
  }
}

/**
 * Follows the read-only switch from your app. Await it (or its `ready`) before serving.
 *
 * @example
 * ```ts
 * const s = createReadOnlySwitch(knex)
 * await s.ready
 * s.on('change', (state) => console.log('read-only', state.readOnly, state.message))
 * if (s.isReadOnly('orders')) showBanner(s.message)
 * ```
 */
export function createReadOnlySwitch(knex: Knex, opts: ReadOnlySwitchOptions = {}): ReadOnlySwitch {
  return new ReadOnlySwitch(knex, opts)
}
