import type { Knex } from 'knex'
import { batchTotals } from '../store/batches.ts'
import { countFailures } from '../store/failures.ts'
import { type Run, type RunState, getRun } from '../store/runs.ts'
import { hasSchema } from '../store/schema.ts'

/** A run as `status` reports it. Counts are rows (objects), not batches. */
export interface RunProgress {
  name: string
  state: RunState
  done: number
  failed: number
  /** Estimate: rows pending when the run started, less those done since. null before the run starts. */
  remaining: number | null
  total: number | null
  phase: string
  sweepPass: number
  batches: number
  retries: number
  rowsPerSecond: number | null
  etaSeconds: number | null
  startedAt: string | null
  finishedAt: string | null
  lastError: string | null
}

export function notStarted(name: string): RunProgress {
  return {
    name, state: 'pending', done: 0, failed: 0, remaining: null, total: null, phase: 'scan', sweepPass: 0,
    batches: 0, retries: 0, rowsPerSecond: null, etaSeconds: null, startedAt: null, finishedAt: null, lastError: null,
  }
}

export async function getProgress(knex: Knex, name: string): Promise<RunProgress> {
  if (!(await hasSchema(knex))) return notStarted(name)
  const run = await getRun(knex, name)
  if (!run) return notStarted(name)
  return progressOf(run, await batchTotals(knex, name), await countFailures(knex, name))
}

function progressOf(run: Run, totals: Awaited<ReturnType<typeof batchTotals>>, failed: number): RunProgress {
  const remaining = run.state === 'done' ? 0 : run.totalEstimate === null ? null : Math.max(0, run.totalEstimate - totals.rowsDone - failed)
  const end = run.finishedAt ?? (run.state === 'running' ? Date.now() : totals.lastBatchAt)
  const seconds = run.startedAt !== null && end !== null ? (end - run.startedAt) / 1000 : 0
  const rate = seconds > 0 && totals.rowsDone > 0 ? totals.rowsDone / seconds : null
  return {
    name: run.name,
    state: run.state,
    done: totals.rowsDone,
    failed,
    remaining,
    total: run.totalEstimate,
    phase: run.phase,
    sweepPass: run.sweepPass,
    batches: totals.batchesDone,
    retries: totals.retries,
    rowsPerSecond: rate === null ? null : Math.round(rate),
    etaSeconds: rate && remaining !== null && run.state === 'running' ? Math.ceil(remaining / rate) : null,
    startedAt: run.startedAt === null ? null : new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
    lastError: run.lastError,
  }
}
