import type { Knex } from 'knex'
import type { Store } from '../store/store.ts'
import type { EvolveEmitter } from './events.ts'
import type { Migration } from './migration.ts'
import { errorMessage } from '../errors.ts'
import { disableReadOnly, enableReadOnly, readOnlyStatus, writeBypassFor } from './read-only.ts'
import { changeRunState } from './run-state.ts'

/** How often a runner looks whether a read-only `--for` has run out (with no operator around). */
const EXPIRY_CHECK_MS = 5_000

/**
 * What the app's users are told while a readonly (or snapshot) run refuses their writes, unless the
 * file says (`readOnlyMessage`). It is shown to the app's users, so it names no migration file or
 * table: operators find the run in `evolve readonly status` (`by: run <name>`).
 */
export const READ_ONLY_NOTICE = 'Maintenance: saving changes is paused for a few minutes while data is updated. Please try again shortly.'

/** Who turned read-only on for a `mode: 'readonly'` migration: `status` tells operators which run to finish. */
export const runActor = (m: Migration) => `run ${m.name}`

/**
 * What a runner does about read-only mode while it serves a run: its batches write through
 * the guard; a `mode: 'readonly'` migration turns it on for its table first (kept on if a
 * dead runner left it on); and every runner turns an expired switch off. `runner` is who the
 * run's history names when turning read-only on fails the run (`runner host:pid`).
 */
export async function startReadOnlyRun(store: Store, knex: Knex, events: EvolveEmitter, m: Migration, runner: string) {
  if (!store.dialect.readOnlyGuard) return { writeBypass: undefined, stop: () => {} }
  if (m.readOnly) {
    const before = await readOnlyStatus(store, knex)
    const message = m.readOnlyMessage ?? READ_ONLY_NOTICE
    const state = await enableReadOnly(store, knex, { tables: [m.table], message, by: runActor(m), widen: true }).catch((err: unknown) =>
      failRunFor(store, events, knex, m.name, runner, err),
    )
    if (JSON.stringify(before) !== JSON.stringify(state)) events.emit('read-only', state)
  }
  const timer = setInterval(() => void readOnlyStatus(store, knex).catch(() => {}), EXPIRY_CHECK_MS)
  timer.unref()
  return { writeBypass: await writeBypassFor(store, knex), stop: () => clearInterval(timer) }
}

/** After a `mode: 'readonly'` migration is done: off again, unless someone else owns the switch now. */
export async function finishReadOnlyRun(store: Store, knex: Knex, events: EvolveEmitter, m: Migration): Promise<void> {
  if (!m.readOnly || !store.dialect.readOnlyGuard) return
  const state = await readOnlyStatus(store, knex)
  if (!state.readOnly || state.by !== runActor(m)) return
  events.emit('read-only', await disableReadOnly(store, knex, { by: runActor(m) }))
}

/**
 * A run that cannot go on until a person mends something (a privilege the role lacks, an app
 * transaction that kept the table locked past the toggle's patience): no worker will serve it,
 * so it must not stay `running` with nobody driving it. It ends `failed` with the reason, the
 * way a migration found broken during its run does (`evolve run` resumes it); then `err` is
 * thrown on, for the caller to report. Failing to record that does not hide `err`.
 */
export async function failRunFor(store: Store, events: EvolveEmitter, knex: Knex, name: string, by: string, err: unknown): Promise<never> {
  const reason = errorMessage(err)
  const patch = { lastError: reason, finishedAt: 'now' as const }
  const run = await store.runs.get(knex, name).catch(() => undefined)
  if (run?.state === 'running') await changeRunState(store, events, knex, run, { to: 'failed', by, reason, patch }).catch(() => false)
  throw err
}
