import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import { errorMessage, usage } from '../errors.ts'
import type { Store } from '../store/store.ts'
import type { RunOptions } from './context.ts'
import { checkThrottle } from './throttle.ts'

interface OptionsContext {
  knex: Knex
  store: Store
  dialect: Dialect
  options: RunOptions
}

/**
 * Checks the run options that reach the database (the throttles' queries) once, as the run
 * will use them: a missing privilege or a broken query is a usage error before any batch runs.
 */
export async function validateRunOptions(ctx: OptionsContext): Promise<void> {
  await validateReplicationLag(ctx)
  await validateLatencyProbe(ctx)
}

async function validateReplicationLag({ knex, dialect, options }: OptionsContext): Promise<void> {
  if (options.maxReplicationLagMs === undefined) return
  if (!dialect.replicationLagMs) {
    throw usage(
      'E_OPTION_UNSUPPORTED',
      `maxReplicationLagMs (--max-replication-lag-ms) needs PostgreSQL: ${dialect.name} has no replicas to watch; drop the option`,
    )
  }
  await dialect.replicationLagMs(knex)
}

/** Times the latency probe once, as the throttle will. */
async function validateLatencyProbe({ knex, store, dialect, options }: OptionsContext): Promise<void> {
  const { maxAppLatencyMs, latencyProbe } = options
  if (maxAppLatencyMs === undefined || !latencyProbe) return
  try {
    await checkThrottle({ knex, store, dialect, options: { maxAppLatencyMs, latencyProbe } })
  } catch (err) {
    const query = oneLine(latencyProbe)
    // knex puts the SQL in front of the database's message: it is shown once already.
    const message = oneLine(errorMessage(err).replace(`${latencyProbe} - `, ''))
    throw usage('E_CONFIG', `latencyProbe "${query}" failed: ${message} — fix the query in the config`)
  }
}

/** Text for a one-line message: whitespace runs (newlines too) as one space, long text cut. */
function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat
}
