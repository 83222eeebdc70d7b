import type { Knex } from 'knex'
import { usage } from '../../errors.ts'
import type { SnapshotRow } from '../../store/snapshots.ts'
import type { Store } from '../../store/store.ts'
import { LEASE_MS, deadOwners } from '../liveness.ts'

/*
 * One process drives a snapshot run at a time: two copying into the same copy double its rows
 * and both crash on its key, leaving the table read-only. The driver is a row of the control
 * table naming its worker, taken by an insert that only one process can win (the key is
 * unique) and handed over from a dead driver by a compare-and-set on the worker's id: never a
 * look followed by a write that another process could slip between.
 */

const driverKey = (snap: SnapshotRow): string => `snapshot-driver:${snap.id}`

/**
 * Makes `workerId` (registered as a worker of the run, so that others can tell whether it lives)
 * the snapshot's driver; refuses with E_SNAPSHOT_BUSY while another live process is.
 */
export async function claimDriver(knex: Knex, store: Store, snap: SnapshotRow, workerId: string): Promise<void> {
  const key = driverKey(snap)
  for (;;) {
    const holder = await store.control.claim(knex, key, workerId)
    if (holder === undefined || holder === null) continue // released between the insert and the read: try again
    if (holder === workerId) return
    if (!(await deadOwners(knex, store, [holder], LEASE_MS)).has(holder)) throw await busy(knex, store, snap, holder)
    // Its driver died (killed, its machine lost): take over, unless another process just did.
    if (await store.control.replace(knex, key, holder, workerId)) return
  }
}

/** Lets the next process drive (a run that stopped, failed or finished). */
export async function releaseDriver(knex: Knex, store: Store, snap: SnapshotRow, workerId: string): Promise<void> {
  await store.control.release(knex, driverKey(snap), workerId)
}

async function busy(knex: Knex, store: Store, snap: SnapshotRow, holder: string): Promise<Error> {
  const [w] = await store.workers.get(knex, [holder])
  const who = w ? `${w.host} pid ${w.pid}` : `worker ${holder}`
  return usage(
    'E_SNAPSHOT_BUSY',
    `${snap.runName}: another process (${who}) drives this snapshot run; wait for it (\`evolve status ${snap.runName}\`), or stop it there first (\`evolve run\` resumes its step)`,
  )
}
