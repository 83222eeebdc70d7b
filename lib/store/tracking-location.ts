import type { Dialect, TrackingLocation } from '../dialects/dialect.ts'
import { type EvolveUsageError, usage } from '../errors.ts'
import type { Db } from './db.ts'

/** What the caller is about to do with the tracking tables: look (status, plan, the switch) or write them. */
export type TrackingUse = 'read' | 'write'

/**
 * True when the set of tracking tables `probe` belongs to is where this connection reads and makes
 * it, and the role may `use` `tables`; false when there is none on its search_path (nothing ran yet,
 * or only another site's in a schema of its own). Refused in one line, before anything is written,
 * when a set exists that this connection would not see: in a later schema of its search_path (a
 * second, empty set would be made first, and every done migration run again), or one the role may
 * not read (it looked absent: "pending", "read-only: off").
 */
export async function locateTracking(
  db: Db,
  dialect: Dialect,
  probe: string,
  tables: readonly string[],
  use: TrackingUse,
): Promise<boolean | undefined> {
  if (!dialect.trackingLocation) return undefined // the caller asks knex: one schema per file
  const at = await dialect.trackingLocation(db, probe, [...new Set([probe, ...tables])])
  // Only what the caller uses: an app reporting its latency writes evolve_control, nothing else.
  const lacking = at.present.filter((t) => tables.includes(t.table) && (!t.read || (use === 'write' && !t.write)))
  if (lacking.length > 0) throw mayNot(at, lacking, use)
  if (at.present.some((t) => t.table === probe)) return true
  // A set in a schema off this connection's search_path is another site's (a schema per tenant, each
  // with its own search_path): this connection makes its own. One on it is this site's, hidden.
  const other = at.elsewhere.find((e) => e.onPath)
  if (!other) return false
  throw other.usable ? otherSchema(at, other.schema) : noUsage(at, other.schema)
}

/** `name` as SQL takes it: quoted unless it is a plain lower-case identifier. */
const ident = (name: string) => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`)

function otherSchema(at: TrackingLocation, schema: string): EvolveUsageError {
  const where = `which comes after schema "${at.schema}" in this connection's search_path (${at.searchPath})`
  const instead = at.schema === null ? 'no schema of its search_path to use' : `would make a second, empty set in "${at.schema}"`
  return usage(
    'E_TRACKING_SCHEMA',
    `evolvekit's tracking tables are in schema "${schema}", ${where}: it ${instead} and run every migration again. ` +
      `Put "${schema}" first in evolvekit's search_path (in the URL: ?options=-c%20search_path%3D${encodeURIComponent(schema)}; ` +
      `in a knex config: searchPath: ['${schema}']); or, when "${at.schema}" is a site of its own (a schema per tenant), make its set once ` +
      `with a search_path naming "${at.schema}" alone, and it is used from then on; nothing changed`,
  )
}

function noUsage(at: TrackingLocation, schema: string): EvolveUsageError {
  return usage(
    'E_TRACKING_PRIVILEGE',
    `evolvekit's tracking tables are in schema "${schema}", which role "${at.role}" may not use: ` +
      `GRANT USAGE ON SCHEMA ${ident(schema)} TO ${ident(at.role)}, or run evolve as the role that created them; nothing changed`,
  )
}

function mayNot(at: TrackingLocation, lacking: TrackingLocation['present'], use: TrackingUse): EvolveUsageError {
  const names = lacking.map((t) => `${ident(at.schema!)}.${ident(t.table)}`).join(', ')
  const owner = lacking[0]!.owner
  const me = ident(at.role)
  // Writers also draw ids from the tables' sequences (evolve_batches' ids, say).
  const fix =
    use === 'read'
      ? `GRANT SELECT ON ${names} TO ${me}, or connect as "${owner}"`
      : `connect as "${owner}" (or a role it is granted to), or GRANT SELECT, INSERT, UPDATE, DELETE ON ${names} TO ${me} and USAGE on their sequences`
  return usage(
    'E_TRACKING_PRIVILEGE',
    `role "${at.role}" may not ${use} evolvekit's tracking tables in schema "${at.schema}", owned by "${owner}": ${fix}; nothing changed`,
  )
}
