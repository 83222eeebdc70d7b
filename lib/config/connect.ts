import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import { dialectForClient } from '../dialects/for-knex.ts'
import { EvolveConnectionError, errorMessage, usage } from '../errors.ts'
import type { ResolvedConfig } from './resolve-config.ts'

/** Opens the database and proves it answers; a failure is one line naming where the setting came from. */
export async function connect(config: ResolvedConfig, pool?: Knex.PoolConfig): Promise<{ knex: Knex; dialect: Dialect }> {
  const dialect = dialectForClient(config.client)
  if (!dialect) throw usage('E_CONFIG', `${config.source}: client "${config.client}" is not supported: use "pg" or "better-sqlite3"`)
  const { target, problem } = dialect.describeTarget(config.connection)
  if (problem) throw usage('E_NO_DATABASE', `${problem} (from ${config.source})`)
  // Imported here, not at the top: knex takes ~200 ms to load, which `evolve --help` need not pay.
  const { default: knexFactory } = await import('knex')
  const knex = knexFactory({ ...knexConfig(dialect, config.connection, pool), acquireConnectionTimeout: 10_000, log: knexLog() })
  try {
    await knex.raw('select 1')
  } catch (err) {
    await knex.destroy()
    throw new EvolveConnectionError(`cannot reach the database ${target} (from ${config.source}): ${errorMessage(err).split('\n')[0]}`)
  }
  return { knex, dialect }
}

/**
 * The dialect's knex config for `pool`. A min asked for above the max another source set (a
 * config's pool.min of 20, the PostgreSQL default max of 10) raises the max: tarn would refuse
 * the pool at the first query otherwise.
 */
function knexConfig(dialect: Dialect, connection: Knex.Config['connection'], pool: Knex.PoolConfig | undefined): Knex.Config {
  const built = dialect.knexConfig(connection, pool)
  const { min, max } = built.pool ?? {}
  return min !== undefined && max !== undefined && min > max ? dialect.knexConfig(connection, { ...pool, max: min }) : built
}

/** knex logs connection errors with stack traces; the CLI reports them as one line instead. */
function knexLog(): Knex.Config['log'] {
  const quiet = (message: unknown) => {
    if (process.env.EVOLVE_DEBUG) console.error(message)
  }
  return { warn: quiet, error: quiet, deprecate: quiet, debug: quiet }
}
