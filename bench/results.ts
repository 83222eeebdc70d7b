// The shape of bench/results.json.
import type { BenchOptions } from './args.ts'
import type { AdminApiResult } from './scenarios/admin-api.ts'
import type { MachineInfo } from './machine.ts'
import type { ColdStartResult } from './scenarios/cold-start.ts'
import type { LiveImpactResult } from './scenarios/live-impact.ts'
import type { MemoryResult } from './scenarios/memory.ts'
import type { ScaleOutResult } from './scenarios/scale-out.ts'
import type { SnapshotResult } from './scenarios/snapshot.ts'
import type { ThroughputResult } from './scenarios/throughput.ts'
import type { WideRowsResult } from './scenarios/wide-rows.ts'

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
  /** The same on SQLite: the app's own connection to the file, with the hand-written loop (c) too. */
  liveImpactSqlite?: LiveImpactResult | null
  memory: MemoryResult | null
  /** Peak RSS on ~1 MB rows, per dialect. */
  wideRows: WideRowsResult[]
  scaleOut: ScaleOutResult | null
  /** PostgreSQL, then SQLite unless --no-sqlite. */
  snapshot: SnapshotResult[] | null
  coldStart: ColdStartResult | null
  /** GET /status of the admin API under load (absent in results written before it existed). */
  adminApi?: AdminApiResult | null
  targets: TargetCheck[]
  /** Scenarios that threw: their figures are missing above. */
  failures: { scenario: string; error: string }[]
}
