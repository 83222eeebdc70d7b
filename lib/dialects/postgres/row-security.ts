import type { Knex } from 'knex'

/**
 * True when some table of the database has row-level security enabled (`pg_class.relrowsecurity`,
 * which every role may read). Only then can a 42501 inside a batch be one row's: a policy refusing
 * that row a write. Enabled anywhere, not only where it binds this role: a policy the role
 * bypasses is left to the per-row isolation that has always handled it.
 */
export async function postgresRowSecurityInUse(knex: Knex): Promise<boolean> {
  const { rows } = await knex.raw('SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relrowsecurity) AS in_use')
  return rows[0]?.in_use === true
}
