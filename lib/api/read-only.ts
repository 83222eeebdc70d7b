import type { Knex } from 'knex'
import type { EvolveEmitter } from '../core/events.ts'
import { type EnableReadOnlyOptions, type ReadOnlyState, disableReadOnly, enableReadOnly, readOnlyStatus } from '../core/read-only.ts'
import { checkDisableReadOnlyOptions, checkEnableReadOnlyOptions } from './start-options.ts'

export { snapshotHolding } from '../core/snapshot/names.ts'
/** The longest read-only window a `for` may ask for (30 days), in ms: the front ends' own limits say the same. */
export { MAX_DURATION_MS, parseDuration } from '../core/duration.ts'
import type { Store } from '../store/store.ts'

export type { ReadOnlyState, EnableReadOnlyOptions }

/**
 * `evolve.readOnly`: the site-wide read-only switch. The database refuses app writes on the
 * guarded tables while it is on; every process reads the same row.
 *
 * @example
 * ```ts
 * await evolve.readOnly.enable({ message: 'Back at 14:00', tables: ['orders'], for: '30m' })
 * console.log(await evolve.readOnly.status()) // { readOnly: true, message: 'Back at 14:00', … }
 * await evolve.readOnly.disable()
 * ```
 */
export class ReadOnlyAdmin {
  constructor(
    private readonly store: Store,
    private readonly knex: Knex,
    private readonly events: EvolveEmitter,
    private readonly by: string,
  ) {}

  /** The switch as stored (turned off first if its `for` has run out). Reads only, unless it expired. */
  status(): Promise<ReadOnlyState> {
    return readOnlyStatus(this.store, this.knex)
  }

  /**
   * Turns it on (or changes its message, expiry, or widens its tables). Bad input (an unknown
   * option, a wrong type, `for` without a unit) throws `EvolveUsageError` and changes nothing.
   */
  async enable(options: EnableReadOnlyOptions & { by?: string } = {}): Promise<ReadOnlyState> {
    const opts = checkEnableReadOnlyOptions(options)
    const state = await enableReadOnly(this.store, this.knex, { ...opts, by: opts.by ?? this.by })
    this.events.emit('read-only', state)
    return state
  }

  /**
   * Turns it off; harmless when it is off. A snapshot run's switch is refused (`E_READ_ONLY_HELD`:
   * the app's writes would be lost at its swap; `cancel` the run instead) unless `force`.
   * An unknown option or a wrong type throws `EvolveUsageError` and changes nothing.
   */
  async disable(options: { by?: string; force?: boolean } = {}): Promise<ReadOnlyState> {
    const opts = checkDisableReadOnlyOptions(options)
    const before = await readOnlyStatus(this.store, this.knex)
    const state = await disableReadOnly(this.store, this.knex, { by: opts.by ?? this.by, force: opts.force })
    if (before.readOnly) this.events.emit('read-only', state)
    return state
  }
}
