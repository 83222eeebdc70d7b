// The public library: everything an app, a script or a front end imports from 'evolvekit'.

// Migration files and config files
export { defineMigration } from './api/define-migration.ts'
export type {
  MigrationDefinition,
  BatchContext,
  AnyRow,
  ColumnOf,
  SetColumns,
  SetExpression,
  DefineMigrationOf,
  ReadingDefinition,
} from './api/define-migration.ts'
export { defineConfig } from './api/define-config.ts'
export type { EvolveConfig, EvolveClient } from './api/define-config.ts'
export { createMigration } from './api/migration.ts'
export { loadMigrations } from './config/load-migrations.ts'
export type { Migration, EvolveMode } from './core/migration.ts'

// The admin layer: one object for every front end
export { openEvolve } from './api/open-evolve.ts'
export type { OpenWithKnex, OpenWithConfig } from './api/open-evolve.ts'
export { Evolve } from './api/evolve.ts'
export type { FailedObject, FailurePage, LiveWorker, RunNote, RunStatus, StartOptions, Who } from './api/evolve.ts'
export { RunHandle } from './api/run-handle.ts'
export type { WatchOptions } from './api/watch.ts'
export type { PlanDescription } from './core/describe-plan.ts'
export type { RunProgress } from './core/progress.ts'
export type { SnapshotProgress } from './core/snapshot/progress.ts'
export type { RevertResult } from './core/snapshot/revert.ts'
export type { SnapshotPreflight, DependentObject, Refusal } from './dialects/snapshot-ddl.ts'
export type { SnapshotStep } from './store/snapshots.ts'
export type { RunState } from './store/runs.ts'
export { TRANSITIONS as RUN_TRANSITIONS } from './core/run-state.ts'
export type { EvolveEvents } from './core/events.ts'
export { EvolveEmitter } from './core/events.ts'
export { EVENT_NAMES } from './api/events.ts'
export type { EvolveEventName, EvolveListener } from './api/events.ts'

// For apps: completion gate, control and latency reports
export { isDone, assertDone } from './api/completion.ts'
export { pauseRun, resumeRun, cancelRun, reportAppLatency } from './api/control.ts'

// Read-only mode: the admin switch (evolve.readOnly), and for apps the switch, the refusal and middleware
export { ReadOnlyAdmin } from './api/read-only.ts'
export type { ReadOnlyState, EnableReadOnlyOptions } from './api/read-only.ts'
export { isReadOnlyError } from './api/read-only-error.ts'
export { createReadOnlySwitch, ReadOnlySwitch } from './api/read-only-switch.ts'
export type { ReadOnlySwitchOptions } from './api/read-only-switch.ts'
export { readOnlyMiddleware, readOnlyErrorHandler, readOnlyFastify, withReadOnly } from './api/read-only-middleware.ts'
export type { ReadOnlyMiddlewareOptions } from './api/read-only-middleware.ts'

// Lower level: the engine itself
export { Runner } from './core/runner.ts'
export type { RunnerOptions } from './core/runner-options.ts'
export type { RunOptions } from './core/context.ts'
export type { PacingOptions } from './core/pacing.ts'
export type { ThrottleOptions, ThrottleAnswer, ThrottleSource } from './core/throttle.ts'
export { collectMetrics } from './observe/metrics.ts'

// The admin HTTP API is 'evolvekit/http' (lib/http/index.ts): it loads Fastify, which the
// CLI's other commands and migration files importing 'evolvekit' should not pay for.

export { EvolveError, EvolveUsageError, EvolveConnectionError, EvolveNotDoneError } from './errors.ts'
