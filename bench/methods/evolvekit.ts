// (d) (e) (f): the same change through evolvekit's library API, as a user would write it.
import type { Knex } from 'knex'
import { parseMigration } from '../../lib/config/migration-schema.ts'
import { type MigrationDefinition, type RunnerOptions, Runner, defineMigration } from '../../lib/index.ts'

export type EvolveMode = 'set' | 'transform' | 'transform-all' | 'up'

const pending = (q: Knex.QueryBuilder) => q.whereRaw('email <> lower(email)')

export const DEFINITIONS: Record<EvolveMode, MigrationDefinition> = {
  set: defineMigration({ table: 'users', pending, set: { email: (knex) => knex.raw('lower(email)') } }),
  // Declares the one column it reads, as the README advises and as the per-row loop (b) reads it.
  transform: defineMigration({ table: 'users', pending, columns: ['email'], transform: (row) => ({ email: row.email.toLowerCase() }) }),
  // The same without `columns`: every column of every row read into JavaScript (g).
  'transform-all': defineMigration({ table: 'users', pending, transform: (row) => ({ email: row.email.toLowerCase() }) }),
  up: defineMigration({
    table: 'users',
    pending,
    up: async (rows, { trx }) => {
      await trx('users')
        .whereIn(
          'id',
          rows.map((r) => r.id),
        )
        .update({ email: trx.raw('lower(email)') })
    },
  }),
}

export interface EvolveOutcome {
  rows: number
  seconds: number
  batches: number
  retries: number
  /** Rows of the largest batch: where the adaptive size settled. */
  maxBatchRows: number
  /** Longest batch, retries included. */
  maxBatchMs: number
}

let runs = 0

/** Runs one migration to the end with `new Runner(...).run()`; throws unless it ends `done`. */
export async function runEvolve(
  knex: Knex,
  mode: EvolveMode,
  options: Omit<RunnerOptions, 'knex' | 'migrations'> = {},
): Promise<EvolveOutcome> {
  const name = `bench_${mode}_${++runs}`
  const runner = new Runner({ knex, migrations: [parseMigration(name, `bench:${mode}`, DEFINITIONS[mode])], ...options })
  const outcome: EvolveOutcome = { rows: 0, seconds: 0, batches: 0, retries: 0, maxBatchRows: 0, maxBatchMs: 0 }
  runner.events.on('batch:done', (e) => {
    outcome.batches++
    outcome.rows += e.rows
    outcome.retries += e.retries
    outcome.maxBatchRows = Math.max(outcome.maxBatchRows, e.rows)
    outcome.maxBatchMs = Math.max(outcome.maxBatchMs, e.durationMs)
  })
  const started = performance.now()
  const [result] = await runner.run()
  outcome.seconds = (performance.now() - started) / 1000
  if (result?.state !== 'done') throw new Error(`evolvekit ${mode} ended ${result?.state}: ${result?.lastError ?? 'no error recorded'}`)
  return outcome
}
