import type { Knex } from 'knex'
import type { Dialect } from '../../dialects/dialect.ts'
import { ROLE_REFUSAL, type Refusal, type SnapshotDdl, type SnapshotPreflight } from '../../dialects/snapshot-ddl.ts'
import { usage } from '../../errors.ts'
import type { Migration } from '../migration.ts'
import { keyName } from '../keys.ts'

export function snapshotDdl(dialect: Dialect): SnapshotDdl {
  if (!dialect.snapshot)
    throw usage('E_SNAPSHOT_UNSUPPORTED', `snapshot mode is not available on ${dialect.name}: run the migration in place`)
  return dialect.snapshot
}

/** What snapshot mode refuses in the migration itself, whatever depends on its table. */
function migrationRefusals(m: Migration): Refusal[] {
  const refused: Refusal[] = []
  // `up` writes tables by name (ctx.trx('users')): on a copy it would write the live table instead,
  // through the batch's read-only bypass, and the unevolved copy would then be swapped in.
  if (m.mode === 'up')
    refused.push({
      kind: 'migration',
      name: m.name,
      fix: `snapshot mode evolves a copy of "${m.table}", but \`up\` writes tables by name and would write the live one: use \`transform\` or \`set\`, or evolve in place (drop mode)`,
    })
  if (Array.isArray(m.key))
    refused.push({
      kind: 'key',
      name: keyName(m),
      fix: `snapshot mode needs a single-column key, not ${m.key.join(', ')}: evolve this table in place (drop mode)`,
    })
  return refused
}

/** The dependent objects (and what the database refuses among them) and the migration's own refusals, apart. */
async function preflightOf(knex: Knex, dialect: Dialect, m: Migration): Promise<{ found: SnapshotPreflight; own: Refusal[] }> {
  return { found: await snapshotDdl(dialect).preflight(knex, m.table), own: migrationRefusals(m) }
}

/**
 * The preflight, the one place that decides what snapshot mode refuses: every dependent object
 * and what the swap does with it, and every refusal, the migration's own (an `up`, a composite
 * key) first. `plan` shows it; `run` stops on the same refusals (assertCarriable). Reads only.
 */
export async function snapshotPreflight(knex: Knex, dialect: Dialect, m: Migration): Promise<SnapshotPreflight> {
  const { found, own } = await preflightOf(knex, dialect, m)
  return { ...found, refused: [...own, ...found.refused] }
}

/** Refuses, before anything changes, what the preflight refuses: every refusal named, with what to do, in one line. */
export async function assertCarriable(knex: Knex, dialect: Dialect, m: Migration): Promise<SnapshotPreflight> {
  const { found, own } = await preflightOf(knex, dialect, m)
  if (own.length === 0 && found.refused.length === 0) return found
  // The role's own refusal (it may not act as the table's owner) reads as a sentence, not as an object.
  const roles = found.refused.filter((r) => r.kind === ROLE_REFUSAL)
  const objects = found.refused.filter((r) => r.kind !== ROLE_REFUSAL)
  const reasons = [...own.map((r) => r.fix), ...roles.map((r) => `role "${r.name}" ${r.fix}`)]
  if (objects.length > 0) {
    const list = objects.map((r) => `${r.kind} ${r.name}: ${r.fix}`).join('; ')
    reasons.push(`snapshot mode cannot carry every object that depends on "${m.table}" — ${list}`)
  }
  throw usage('E_SNAPSHOT_REFUSED', `${m.file}: ${reasons.join('; ')}`)
}
