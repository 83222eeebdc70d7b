import { Counter, Histogram, Registry } from 'prom-client'
import type { EvolveEmitter } from '../core/events.ts'

/**
 * Prometheus metrics fed by a runner's events. One registry per call, so a process
 * (or a test) can hold several without global state.
 *
 * @example
 * ```ts
 * const registry = collectMetrics(runner.events)
 * res.end(await registry.metrics())
 * ```
 */
export function collectMetrics(events: EvolveEmitter): Registry {
  const registry = new Registry()
  const labels = ['migration'] as const
  const rows = new Counter({ name: 'evolve_rows_total', help: 'Rows evolved', labelNames: labels, registers: [registry] })
  const batches = new Counter({
    name: 'evolve_batches_total',
    help: 'Batches committed',
    labelNames: ['migration', 'phase'],
    registers: [registry],
  })
  const retries = new Counter({
    name: 'evolve_retries_total',
    help: 'Batch attempts retried after a conflict',
    labelNames: ['migration', 'reason'],
    registers: [registry],
  })
  const failures = new Counter({
    name: 'evolve_failures_total',
    help: 'Objects recorded as failed',
    labelNames: labels,
    registers: [registry],
  })
  const throttle = new Counter({
    name: 'evolve_throttle_seconds_total',
    help: 'Time workers held back',
    labelNames: ['migration', 'source'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'evolve_batch_duration_seconds',
    help: 'Batch duration, retries included',
    labelNames: labels,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  events.on('batch:done', (e) => {
    rows.inc({ migration: e.run }, e.rows)
    batches.inc({ migration: e.run, phase: e.phase })
    duration.observe({ migration: e.run }, e.durationMs / 1000)
  })
  events.on('batch:retry', (e) => retries.inc({ migration: e.run, reason: e.reason }))
  events.on('object:failed', (e) => failures.inc({ migration: e.run }))
  events.on('throttled', (e) => throttle.inc({ migration: e.run, source: e.source }, e.ms / 1000))
  return registry
}
