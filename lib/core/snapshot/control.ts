import { setTimeout as sleep } from 'node:timers/promises'
import type { Knex } from 'knex'
import { EvolveConnectionError, EvolveUsageError, errorMessage, usage } from '../../errors.ts'
import { explainFault } from '../database-fault.ts'
import type { RunState } from '../../store/runs.ts'
import type { SnapshotRow, SnapshotStep } from '../../store/snapshots.ts'
import type { Store } from '../../store/store.ts'
import type { EvolveEmitter } from '../events.ts'
import { liveWorkers } from '../liveness.ts'
import { canMove, changeRunState } from '../run-state.ts'
import { SNAPSHOT_STEPS, shadowRunName } from './names.ts'
import { abort } from './unwind.ts'

/*
 * An operator's pause, resume or cancel of a snapshot run. The run's own process honours them
 * between steps (run-snapshot.ts); the copy's evolve step is a run of its own, `<name>.shadow`,
 * which follows the snapshot run's state so that it stops within one batch, not after the copy.
 */

/** From `validate` on the copy is the table: too late to cancel, `evolve revert` swaps back. */
export const isSwapped = (step: SnapshotStep): boolean => SNAPSHOT_STEPS.indexOf(step) >= SNAPSHOT_STEPS.indexOf('validate')

/**
 * Refuses to cancel a snapshot run whose copy was swapped in already, naming what undoes it; and,
 * before the run's state changes, one the canceller would have to unwind (no runner is left) but
 * may not: a cancel that cannot do what it says leaves the run as it was.
 */
export async function checkSnapshotControl(store: Store, knex: Knex, name: string, action: 'pause' | 'resume' | 'cancel'): Promise<void> {
  if (action !== 'cancel') return
  const snap = await store.snapshots.get(knex, name)
  if (snap && isSwapped(snap.step))
    throw usage(
      'E_BAD_STATE',
      `cannot cancel "${name}": its copy of ${snap.table} was swapped in already (step ${snap.step}); it finishes in a moment, then \`evolve revert ${name}\` swaps the old table back`,
    )
  if (!snap || snap.step === 'preflight' || (await liveWorkers(store, knex, name)).length > 0) return
  const why = await mayNotUnwind(store, knex, snap)
  if (why) throw usage('E_READ_ONLY_PRIVILEGE', `cannot cancel "${name}": ${why}; nothing changed`)
}

/** Why this role may not undo the snapshot run (turn read-only off for its table, drop the copy); null when it may. */
async function mayNotUnwind(store: Store, knex: Knex, snap: SnapshotRow): Promise<string | null> {
  const ddl = store.dialect.snapshot
  const [n] = ddl ? await ddl.notOwned(knex, [snap.table, snap.shadow]) : []
  if (!n) return null
  return `no runner is left, so the cancel has to undo it (read-only off for ${snap.table}, the copy ${snap.shadow} dropped), and role "${n.role}" may not act as the owner of ${n.table} ("${n.owner}"): cancel it as "${n.owner}" or a role that inherits it`
}

/** The copy's run takes the state the snapshot run was just given (when it exists and may move there). */
export async function followInShadow(
  store: Store,
  events: EvolveEmitter,
  knex: Knex,
  name: string,
  to: RunState,
  who: { by: string; reason?: string | null },
): Promise<void> {
  const inner = await store.runs.get(knex, shadowRunName(name))
  if (!inner || inner.state === to || !canMove(inner.state, to)) return
  const reason = `${who.reason ?? to}, with ${name}`
  if (await changeRunState(store, events, knex, inner, { to, by: who.by, reason })) await store.dialect.notifyControl?.(knex, inner.name)
}

/**
 * A cancelled snapshot run whose process is gone (killed, its machine lost) would stay read-only
 * with its copy lying about: nobody is left to unwind it. Then the canceller does, as the runner
 * would have: writes let in, the copy dropped. True when it did; false while a runner lives
 * (that one unwinds it) or when there is nothing to undo.
 */
export async function unwindOrphanedCancel(store: Store, events: EvolveEmitter, knex: Knex, name: string, by: string): Promise<boolean> {
  const snap = await store.snapshots.get(knex, name)
  if (!snap || snap.step === 'preflight' || isSwapped(snap.step)) return false
  if ((await store.runs.get(knex, name))?.state !== 'cancelled') return false
  if ((await liveWorkers(store, knex, name)).length > 0) return false
  // Said as it is: the run is cancelled already (by this cancel or an earlier one), only its undoing is left.
  const left = `"${name}" is cancelled, but ${snap.table} is still read-only and its copy left`
  const why = await mayNotUnwind(store, knex, snap)
  if (why) throw usage('E_READ_ONLY_PRIVILEGE', `${left}: ${why}`)
  try {
    await abort({ knex, store, dialect: store.dialect, events, by }, { name, table: snap.table }, snap, 'cancelled', 'cancelled')
  } catch (err) {
    const message = `${left}: undoing it failed (${errorMessage(explainFault(store.dialect, err))}); once mended, \`evolve cancel ${name}\` again undoes it`
    throw err instanceof EvolveUsageError ? usage(err.code, message) : new EvolveConnectionError(message, { cause: err })
  }
  return true
}

const POLL_MS = 250

/** The snapshot run's state at a step boundary, once it is not paused: a paused run waits here, read-only still on. */
export async function stateAtStep(store: Store, knex: Knex, name: string, signal: AbortSignal): Promise<RunState | undefined> {
  for (;;) {
    const state = (await store.runs.get(knex, name))?.state
    if (state !== 'paused' || signal.aborted) return state
    await sleep(POLL_MS, undefined, { signal }).catch(() => {})
  }
}
