// The shape of bench/results.json.
import type { BenchOptions } from './args.ts'
import type { AdminApiResult } from './scenarios/admin-api.ts'
import type { MachineInfo } from './machine.ts'
import type { LiveImpactResult } from './scenarios/live-impact.ts'
import type { MemoryResult } from './scenarios/memory.ts'
import type { ScaleOutResult } from './scenarios/scale-out.ts'
import type { SnapshotResult } from './scenarios/snapshot.ts'
import type { ThroughputResult } from './scenarios/throughput.ts'

export interface TargetCheck {
  name: string
  target: string
  measured: string
  pass: boolean
}

export interface BenchResults {
  machine: MachineInfo
  options: BenchOptions
  /** Wall time of the whole bench, server start-up included. */
  durationSeconds: number
  throughput: ThroughputResult[]
  liveImpact: LiveImpactResult | null
  memory: MemoryResult | null
  scaleOut: ScaleOutResult | null
  snapshot: SnapshotResult | null
  /** GET /status of the admin API under load (absent in results written before it existed). */
  adminApi?: AdminApiResult | null
  targets: TargetCheck[]
  /** Scenarios that threw: their figures are missing above. */
  failures: { scenario: string; error: string }[]
}
