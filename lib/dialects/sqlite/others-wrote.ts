import type { Knex } from 'knex'

/** The last `PRAGMA data_version` read per knex (one connection per process: see knexConfig's pool). */
const seen = new WeakMap<Knex, number>()

/**
 * `PRAGMA data_version` changes, for this connection, whenever another connection (the app, another
 * process) commits to the file, and never for this connection's own commits: a cheap, exact sign that
 * someone else is writing. The first call, and a call on a fresh connection, answers true (unknown).
 */
export async function sqliteOthersWrote(knex: Knex): Promise<boolean> {
  const rows = (await knex.raw('PRAGMA data_version')) as { data_version: number }[]
  const now = Number(rows[0]?.data_version)
  const before = seen.get(knex)
  seen.set(knex, now)
  return before !== now
}
