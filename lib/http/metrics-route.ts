import type { FastifyInstance } from 'fastify'
import { Gauge, Registry } from 'prom-client'
import type { Evolve } from '../api/evolve.ts'
import { collectMetrics } from '../observe/metrics.ts'

const STATES = ['pending', 'running', 'paused', 'done', 'failed', 'cancelled'] as const

/**
 * GET /metrics: every run's figures as the database has them (so the API process, which runs
 * no batches, reports what every runner did), plus the batch counters of runs in this process.
 */
export function metricsRoute(app: FastifyInstance, evolve: Evolve): void {
  const fromDb = new Registry()
  const labelNames = ['migration'] as const
  const gauge = (name: string, help: string, labels: readonly string[] = labelNames) =>
    new Gauge({ name, help, labelNames: labels, registers: [fromDb] })
  const state = gauge('evolve_run_state', 'The run is in this state (1) or not (0)', ['migration', 'state'])
  const done = gauge('evolve_run_rows_done', 'Rows evolved so far')
  const failed = gauge('evolve_run_rows_failed', 'Objects recorded as failed')
  const remaining = gauge('evolve_run_rows_remaining', 'Rows still pending (estimate)')
  const workers = gauge('evolve_run_workers', 'Workers serving the run, on every machine')
  const rate = gauge('evolve_run_rows_per_second', 'Rows a second over the last 30 s')
  // Only reported where the read-only switch exists: a constant 0 would claim it is off.
  const readOnlyRegistry = new Registry()
  const readOnly = new Gauge({ name: 'evolve_read_only', help: 'The read-only switch is on (1) or off (0)', registers: [readOnlyRegistry] })
  const inProcess = collectMetrics(evolve.events)

  app.get('/metrics', async (_request, reply) => {
    state.reset()
    for (const g of [done, failed, remaining, workers, rate]) g.reset()
    for (const p of await evolve.status()) {
      for (const s of STATES) state.set({ migration: p.name, state: s }, p.state === s ? 1 : 0)
      done.set({ migration: p.name }, p.done)
      failed.set({ migration: p.name }, p.failed)
      if (p.remaining !== null) remaining.set({ migration: p.name }, p.remaining)
      workers.set({ migration: p.name }, p.workers)
      if (p.rowsPerSecond !== null) rate.set({ migration: p.name }, p.rowsPerSecond)
    }
    readOnly.set((await evolve.readOnly.status()).readOnly ? 1 : 0)
    const text = (await fromDb.metrics()) + (await inProcess.metrics()) + (await readOnlyRegistry.metrics())
    return reply.type(fromDb.contentType).send(text)
  })
}
