import type { Knex } from 'knex'
import type { Dialect } from '../../dialects/dialect.ts'
import type { SnapshotRow } from '../../store/snapshots.ts'
import type { Store } from '../../store/store.ts'
import type { EvolveEmitter } from '../events.ts'
import type { Migration } from '../migration.ts'
import { changeRunState, emitRunEnd } from '../run-state.ts'
import { readOnlyActor, shadowRunName, stoppedPrefix } from './names.ts'
import { snapshotDdl } from './preflight.ts'
import { turnReadOnlyOff } from './read-only-seam.ts'

/** What unwinding needs of the snapshot run's context. */
interface UnwindContext {
  knex: Knex
  store: Store
  dialect: Dialect
  events: EvolveEmitter
  by: string
}

/**
 * Before the swap something is wrong with the copy, or the operator cancelled: the live table
 * was never touched. Writes are let in again, the copy is dropped, and the run fails with the
 * reason (or stays cancelled); `evolve run` starts over from a fresh copy.
 */
export async function abort(
  ctx: UnwindContext,
  m: Pick<Migration, 'name' | 'table'>,
  snap: SnapshotRow,
  reason: string,
  end: 'failed' | 'cancelled',
): Promise<void> {
  const { knex, store } = ctx
  await turnReadOnlyOff(store, knex, { tables: [m.table], by: readOnlyActor(m), message: '' })
  await snapshotDdl(ctx.dialect).dropTable(knex, snap.shadow)
  const error = `${stoppedPrefix(snap.step)} before the swap (${m.table} untouched): ${reason}`
  await store.snapshots.update(knex, m.name, { step: 'preflight', error, readWriteAt: 'now' })
  if (end === 'cancelled') {
    await store.snapshots.forgetRun(knex, shadowRunName(m.name))
    await store.runs.update(knex, m.name, { lastError: error, finishedAt: 'now' })
    await emitRunEnd(store, ctx.events, knex, m.name, 'cancelled', error)
    return
  }
  const run = await store.runs.get(knex, m.name)
  if (run?.state === 'running')
    await changeRunState(store, ctx.events, knex, run, {
      to: 'failed',
      by: ctx.by,
      reason: error,
      patch: { lastError: error, finishedAt: 'now' },
    })
}
