// Scenario 6: the admin API's GET /status under load, with 10 runs in the tracking tables while
// one of them is going (PostgreSQL). Reported, not asserted.
import type { Knex } from 'knex'
import { type AnyRow, createMigration, defineMigration, openEvolve } from '../../lib/index.ts'
import { createAdminApi } from '../../lib/http/index.ts'
import { type BenchDatabase, withKnex } from '../databases.ts'
import { fmt, log } from '../progress.ts'
import { type LatencyStats, summarize } from '../stats.ts'
import { TRACKING } from '../users-table.ts'

export interface AdminApiResult {
  runs: number
  concurrency: number
  seconds: number
  requests: number
  requestsPerSecond: number
  latencyMs: LatencyStats
  /** The state of the going run when the load ended: `running` unless it finished meanwhile. */
  liveRunState: string
}

const TOKEN = 'bench-token-0123456789abcdef'
const RUNS = 10

export async function adminApi(db: BenchDatabase, rows: number, seconds: number, concurrency = 8): Promise<AdminApiResult> {
  return withKnex(db, async (knex) => {
    // Exactly these runs in the tracking tables: start them from nothing, like every scenario.
    await dropAll(knex)
    await knex.schema.createTable('bench_api_items', (t) => {
      t.integer('id').primary()
      t.integer('v').notNullable().defaultTo(0)
    })
    await knex.raw('INSERT INTO bench_api_items (id) SELECT g FROM generate_series(1, ?) g', [rows])
    const migrations = Array.from({ length: RUNS }, (_, i) =>
      createMigration(
        `bench_api_${String(i).padStart(2, '0')}`,
        // Nine small runs end done; the last evolves the whole table slowly, so it is going throughout.
        i < RUNS - 1
          ? defineMigration({
              table: 'bench_api_items',
              pending: (q) => q.where('id', '<=', 1000).where('v', '<', i + 1),
              set: { v: () => i + 1 },
            })
          : defineMigration({ table: 'bench_api_items', batchSize: 100, up: async (batch, { trx }) => void (await slowBatch(trx, batch)) }),
      ),
    )
    const runner = await openEvolve({ knex, migrations, run: { batchSize: 100 } })
    await (
      await runner.run(migrations.slice(0, -1).map((m) => m.name))
    ).done
    const live = await runner.run([migrations.at(-1)!.name])
    const evolve = await openEvolve({ knex, migrations })
    const app = await createAdminApi({ evolve, tokens: [{ name: 'bench', token: TOKEN }], logger: false })
    try {
      await app.listen({ host: '127.0.0.1', port: 0 })
      const address = app.server.address()
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/status`
      const samples: number[] = []
      const end = performance.now() + seconds * 1000
      const started = performance.now()
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < end) {
            const t0 = performance.now()
            const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })
            await res.arrayBuffer()
            if (res.status !== 200) throw new Error(`GET /status answered ${res.status}`)
            samples.push(performance.now() - t0)
          }
        }),
      )
      const elapsed = (performance.now() - started) / 1000
      const liveRunState = (await evolve.progress(migrations.at(-1)!.name)).state
      const result = {
        runs: RUNS,
        concurrency,
        seconds: elapsed,
        requests: samples.length,
        requestsPerSecond: samples.length / elapsed,
        latencyMs: summarize(samples),
        liveRunState,
      }
      log(
        `admin-api: GET /status ${fmt(result.requestsPerSecond)} req/s, p99 ${fmt(result.latencyMs.p99, 1)} ms (${RUNS} runs, one ${liveRunState})`,
      )
      return result
    } finally {
      await app.close()
      live.stop()
      await live.done.catch(() => {})
      await dropAll(knex)
    }
  })
}

// A batch that takes a few ms, like real work, so the going run keeps going during the load.
async function dropAll(knex: Knex): Promise<void> {
  for (const table of ['bench_api_items', ...TRACKING]) await knex.schema.dropTableIfExists(table)
}

async function slowBatch(trx: Knex.Transaction, batch: AnyRow[]): Promise<void> {
  await trx('bench_api_items')
    .whereIn(
      'id',
      batch.map((r) => r.id as number),
    )
    .increment('v', 1)
  await new Promise((resolve) => setTimeout(resolve, 5))
}
