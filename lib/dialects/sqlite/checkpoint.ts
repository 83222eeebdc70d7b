import type { Knex } from 'knex'

/** SQLite's own default: a commit that leaves the WAL this many pages long checkpoints it. */
const AUTOCHECKPOINT_PAGES = 1000

/**
 * A commit that grows the WAL past 1000 pages checkpoints it there and then: it copies the pages
 * into the database file before returning, ~15 ms for a 75 ms batch. The write lock is already
 * free by then, so the app may write meanwhile, but the runner's pause would only start after it.
 * So a batch's commit does not checkpoint, and the pause after it begins with the checkpoint
 * (PASSIVE: it waits for no reader or writer). Autocheckpoint is on again outside batches.
 */
export async function sqliteDeferCheckpoint(knex: Knex): Promise<() => Promise<void>> {
  await knex.raw('PRAGMA wal_autocheckpoint = 0')
  return async () => {
    try {
      await knex.raw('PRAGMA wal_checkpoint(PASSIVE)')
    } catch {
      // Only an optimisation: the next commit past 1000 pages checkpoints anyway.
    } finally {
      await knex.raw(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`).catch(() => {})
    }
  }
}
