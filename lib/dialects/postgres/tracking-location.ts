import type { Knex } from 'knex'
import type { TrackingLocation } from '../dialect.ts'

/*
 * From pg_class, not information_schema (knex's hasTable): information_schema hides a table the
 * role has no privilege on, and hasTable looks in current_schema() only. A set made under another
 * search_path, or one the role may not read, then looked absent: evolvekit made a second, empty
 * set and ran every done migration again. Temporary and TOAST schemas never hold a set.
 */
const LOCATION = `
  SELECT current_user AS role, current_schema() AS schema, current_setting('search_path') AS "searchPath",
         COALESCE((SELECT json_agg(json_build_object(
                            'table', c.relname, 'owner', pg_get_userbyid(c.relowner),
                            'read', has_table_privilege(c.oid, 'SELECT'),
                            'write', has_table_privilege(c.oid, 'INSERT') AND has_table_privilege(c.oid, 'UPDATE'))
                          ORDER BY c.relname)
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY (?::text[])), '[]') AS present,
         COALESCE((SELECT json_agg(json_build_object('schema', n.nspname, 'onPath', n.nspname = ANY (current_schemas(false)),
                                                     'usable', has_schema_privilege(n.oid, 'USAGE'))
                          ORDER BY n.nspname = ANY (current_schemas(false)) DESC, n.nspname)
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relname = ? AND c.relkind IN ('r', 'p') AND n.nspname IS DISTINCT FROM current_schema()
                      AND n.nspname !~ '^pg_(temp|toast)'), '[]') AS elsewhere`

/** One catalog query: the schema this connection uses, the set's tables in it, and other schemas holding one. */
export async function postgresTrackingLocation(
  db: Knex | Knex.Transaction,
  probe: string,
  tables: readonly string[],
): Promise<TrackingLocation> {
  const { rows } = await db.raw(LOCATION, [[...tables], probe])
  const at = rows[0] as TrackingLocation
  // current_schemas() leaves out a schema the role may not use: named in the search_path, it is on it all the same.
  const named = pathSchemas(at.searchPath, at.role)
  return { ...at, elsewhere: at.elsewhere.map((e) => ({ ...e, onPath: e.onPath || named.includes(e.schema) })) }
}

/** The schemas a search_path setting names (`"$user", public` → [role, 'public']), quotes undone. */
function pathSchemas(searchPath: string, role: string): string[] {
  const names = searchPath.match(/"(?:[^"]|"")*"|[^,\s]+/g) ?? []
  return names.map((n) =>
    n === '"$user"' || n === '$user' ? role : n.startsWith('"') ? n.slice(1, -1).replaceAll('""', '"') : n.toLowerCase(),
  )
}
