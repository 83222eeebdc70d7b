import type { Knex } from 'knex'
import { defaultActor } from '../lib/api/actor.ts'
import type { Evolve } from '../lib/api/evolve.ts'
import { openEvolveFromCli } from '../lib/api/open-evolve.ts'

/** Options every command accepts. */
export interface GlobalOptions {
  db?: string
  config?: string
  dir?: string
}

/** Opens the admin object for one command and closes it afterwards. */
export async function withEvolve<T>(options: GlobalOptions, fn: (evolve: Evolve) => Promise<T>, pool?: Knex.PoolConfig): Promise<T> {
  const evolve = await openEvolveFromCli({ db: options.db, config: options.config, dir: options.dir, pool, by: defaultActor() })
  // On stderr, so --json output stays clean: the environment choosing another database than the
  // config file names is easy to miss (a shell with DATABASE_URL exported for another project).
  if (evolve.overriddenConnection)
    console.error(
      `evolve: using DATABASE_URL (${evolve.target}), not the connection in ${evolve.overriddenConnection}; unset DATABASE_URL or pass --db to choose`,
    )
  try {
    return await fn(evolve)
  } finally {
    await evolve.close()
  }
}

/** The migrations directory, which commands mention in their messages. */
export function dirOf(evolve: Evolve): string {
  return evolve.migrationsDir ?? './migrations'
}

/** What run, status and plan say when the directory has no migration files. */
export const noMigrations = (evolve: Evolve): string => `no migrations in ${dirOf(evolve)}: create one with \`evolve create <name>\``
