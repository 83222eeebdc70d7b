import { type Db, num } from './db.ts'
import { TABLES } from './schema.ts'

/**
 * Rows the scan batches of a run have evolved, in committed batches. Read in one snapshot
 * with the rows still pending, it gives back the rows that were pending when the run
 * started, however many batches commit meanwhile (lib/core/estimate-total.ts).
 * Sweep batches are left out: they evolve rows written in the old shape after the start.
 */
export async function scanRowsDone(db: Db, runName: string): Promise<number> {
  const row = await db(TABLES.batches).where({ run_name: runName, phase: 'scan', state: 'done' }).sum({ rows: 'rows' }).first()
  return num(row?.rows)
}
