// The run options a config file may set, and the admin object's run() takes too
// (lib/api/start-options.ts): one schema, one wording of each rule.
import { z } from 'zod'
import type { RunOptions } from '../core/context.ts'

export const POSITIVE = { message: 'must be a positive integer' }
export const positiveInt = z.number(POSITIVE).int(POSITIVE).positive(POSITIVE)
export const MS = { message: 'must be a positive number of milliseconds' }
export const ms = z.number(MS).positive(MS)
const PROBE = { message: "must be SQL text, e.g. 'select 1'" }
const fn = z.custom<NonNullable<RunOptions['throttle']>>((v) => typeof v === 'function', { message: 'must be a function' })

export const CONFIG_RUN_OPTIONS = {
  throttle: fn.optional(),
  maxRowsPerSecond: positiveInt.optional(),
  maxReplicationLagMs: ms.optional(),
  maxAppLatencyMs: ms.optional(),
  latencyProbe: z.string(PROBE).min(1, PROBE).optional(),
  targetBatchMs: ms.optional(),
  minBatchSize: positiveInt.optional(),
  maxBatchSize: positiveInt.optional(),
  maxBatchBytes: positiveInt.optional(),
}

/** minBatchSize above maxBatchSize: the sizer would keep to the max and plan would show neither. Else undefined. */
export function batchBoundsProblem(o: { minBatchSize?: number; maxBatchSize?: number }): string | undefined {
  if (o.minBatchSize === undefined || o.maxBatchSize === undefined || o.minBatchSize <= o.maxBatchSize) return undefined
  return `minBatchSize (${o.minBatchSize}) is above maxBatchSize (${o.maxBatchSize}): lower one of them`
}
