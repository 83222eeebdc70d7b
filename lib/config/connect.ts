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
  const knex = knexFactory({
    ...knexConfig(dialect, config.connection, pool),
    acquireConnectionTimeout: CONNECT_TIMEOUT_MS,
    log: knexLog(),
  })
  try {
    await knex.raw('select 1')
  } catch (err) {
    // After a timeout the connection attempt still hangs, and destroy() waits for it (~20 s more):
    // the caller hears now, the pool goes when it can.
    if (isTimeout(err)) void knex.destroy().catch(() => {})
    else await knex.destroy()
    // knex's own words for it ("the pool is probably full … .transacting(trx)") mislead here.
    const why = isTimeout(err) ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s` : errorMessage(err).split('\n')[0]
    throw new EvolveConnectionError(`cannot reach the database ${target} (from ${config.source}): ${why}`, {
      cause: err,
      transient: unavailableForNow(dialect, err),
    })
  }
  return { knex, dialect }
}

const CONNECT_TIMEOUT_MS = 10_000

const isTimeout = (err: unknown) => err instanceof Error && err.name === 'KnexTimeoutError'

/** Name lookups and routes that fail before any database answers: node's, whatever the dialect. */
const UNREACHABLE_NODE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN'])

/**
 * Whether trying again later may connect: the dialect's connection errors (refused, reset, too
 * many connections, shutting down, starting up), a name that does not resolve (a container's DNS
 * name exists only once it runs), no route, or knex's acquire timeout (a server that never
 * answers). Not a wrong password or database name, a missing file or SSL refused: a person's to mend.
 */
function unavailableForNow(dialect: Dialect, err: unknown): boolean {
  if (dialect.classifyError(err) === 'connection') return true
  if (isTimeout(err)) return true
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && UNREACHABLE_NODE_CODES.has(code)
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
