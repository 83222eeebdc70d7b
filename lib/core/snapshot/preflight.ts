import type { Knex } from 'knex'
import type { Dialect } from '../../dialects/dialect.ts'
import type { SnapshotDdl, SnapshotPreflight } from '../../dialects/snapshot-ddl.ts'
import { usage } from '../../errors.ts'
import type { Migration } from '../migration.ts'

export function snapshotDdl(dialect: Dialect): SnapshotDdl {
  if (!dialect.snapshot)
    throw usage('E_SNAPSHOT_UNSUPPORTED', `snapshot mode is not available on ${dialect.name}: run the migration in place`)
  return dialect.snapshot
}

/** Every dependent object and what the swap does with it (what `plan` shows). Reads only. */
export function snapshotPreflight(knex: Knex, dialect: Dialect, m: Migration): Promise<SnapshotPreflight> {
  return snapshotDdl(dialect).preflight(knex, m.table)
}

/** Refuses, before anything changes, a table with objects the swap cannot carry: each named, with what to do. */
export async function assertCarriable(knex: Knex, dialect: Dialect, m: Migration): Promise<SnapshotPreflight> {
  // `up` writes tables by name (ctx.trx('users')): on a copy it would write the live table instead,
  // through the batch's read-only bypass, and the unevolved copy would then be swapped in.
  if (m.mode === 'up') {
    throw usage(
      'E_SNAPSHOT_REFUSED',
      `${m.file}: snapshot mode evolves a copy of "${m.table}", but \`up\` writes tables by name and would write the live one: use \`transform\` or \`set\`, or evolve in place (drop mode)`,
    )
  }
  if (Array.isArray(m.key)) {
    throw usage(
      'E_SNAPSHOT_REFUSED',
      `${m.file}: snapshot mode needs a single-column key, not ${m.key.join(', ')}: evolve this table in place (drop mode)`,
    )
  }
  const found = await snapshotPreflight(knex, dialect, m)
  if (found.refused.length > 0) {
    const list = found.refused.map((r) => `${r.kind} ${r.name}: ${r.fix}`).join('; ')
    throw usage('E_SNAPSHOT_REFUSED', `${m.file}: snapshot mode cannot carry every object that depends on "${m.table}" — ${list}`)
  }
  return found
}
