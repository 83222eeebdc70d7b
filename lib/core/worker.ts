import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { releaseClaims } from '../store/batches.ts'
import { getRun } from '../store/runs.ts'
import { heartbeat, registerWorker, stopWorker } from '../store/workers.ts'
import { claimNext } from './claim-next.ts'
import type { WorkerContext } from './context.ts'
import { executeBatch } from './execute-batch.ts'
import { finalize } from './finalize.ts'
import { localWorkers } from './liveness.ts'

export function newWorkerId(): string {
  return randomUUID()
}

/**
 * One worker serving one run until the run leaves `running`, the work is
 * finished, or `ctx.signal` asks it to stop (it then finishes its batch first).
 */
export async function runWorker(ctx: WorkerContext): Promise<void> {
  const { knex, workerId } = ctx
  localWorkers.add(workerId)
  await registerWorker(knex, workerId)
  const beat = setInterval(() => {
    heartbeat(knex, workerId).catch(() => {}) // a missed beat only shortens the lease others see
  }, ctx.options.heartbeatMs)
  beat.unref()
  try {
    await loop(ctx)
  } finally {
    clearInterval(beat)
    localWorkers.delete(workerId)
    await releaseClaims(knex, workerId)
    await stopWorker(knex, workerId)
  }
}

async function loop(ctx: WorkerContext): Promise<void> {
  while (!ctx.signal.aborted) {
    const run = await getRun(ctx.knex, ctx.migration.name)
    if (!run || run.state !== 'running') return
    const next = await claimNext(ctx, run)
    if (next.kind === 'batch') await executeBatch(ctx, next.batch)
    else if (next.kind === 'wait') await sleep(ctx.options.pollMs)
    else if (next.kind === 'finalize' && (await finalize(ctx, run))) return
  }
}
