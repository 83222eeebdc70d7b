import type { Command } from 'commander'
import { type GlobalOptions, noMigrations, withEvolve } from '../context.ts'
import { positiveInt } from '../parse.ts'
import { printSnapshotPlan } from './snapshot.ts'
import { runMode } from './run.ts'

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description("dry run: pending rows, batch plan and the first batch's SQL; changes nothing")
    .argument('[names...]', 'migration names (default: all)')
    .option('--batch-size <n>', 'rows per batch (overrides the migration files)', positiveInt('--batch-size'))
    .option('--json', 'print the plan as JSON')
    .option('--mode <mode>', 'snapshot: plan every migration in snapshot mode (dependent objects, extra disk)', runMode)
    .action(async (names: string[], _flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { json?: boolean; batchSize?: number; mode?: 'online' | 'snapshot' }>()
      await withEvolve(opts, async (evolve) => {
        const plans = await evolve.plan(names, { batchSize: opts.batchSize, mode: opts.mode })
        if (opts.json) {
          console.log(JSON.stringify(plans, null, 2))
          return
        }
        if (plans.length === 0) {
          console.log(noMigrations(evolve))
          return
        }
        for (const p of plans) {
          console.log(`${p.name} (${p.mode} mode on ${p.table} by ${p.key})${p.description ? `: ${p.description}` : ''}`)
          if (p.fileChanged) console.log(`  file changed since its run started: ${p.fileChanged}${refusal(p.state, p.fileChanged)}`)
          if (p.renamedFrom)
            console.log(
              `  looks like ${p.renamedFrom} renamed (the same table and code): \`evolve run\` refuses to evolve its rows again without --allow-rerun`,
            )
          if (p.rows === null) {
            console.log(`  state: ${p.state}; nothing left to plan`)
            continue
          }
          console.log(`  state: ${p.state}; ${p.pending} rows pending of ${p.rows}; ${batchLine(p.batchSize, p.batches, opts.batchSize)}`)
          if (p.readOnly) console.log(`  read-only: the app's writes to ${p.table} are refused while it runs (mode: 'readonly')`)
          if (p.readOnlyRefusal) console.log(`  REFUSED ${p.readOnlyRefusal}`)
          if (p.firstBatch) {
            console.log(`  first batch: ${p.firstBatch.range}`)
            for (const sql of p.firstBatch.sql) console.log(`    ${sql}`)
          } else console.log('  nothing left to plan')
          if (p.snapshot) printSnapshotPlan(p.snapshot)
        }
      })
    })
}

/** A fixed --batch-size is kept exactly; otherwise the count holds only at the starting size. */
function batchLine(size: number, batches: number, fixed: number | undefined): string {
  if (fixed !== undefined) return `batches of ${size}: about ${batches} batches`
  return `about ${batches} batches at the starting size of ${size} rows (the runner sizes batches by time, capped by bytes)`
}

/** What `run` will do about a changed file: refuse to go on with a changed table, key or mode, say a code change. */
function refusal(state: string, change: string): string {
  if (state === 'done') return ': `evolve run` does not run it again'
  if (change === 'its code') return ': `evolve run` goes on with it, and rows evolved before used the old code'
  return ': `evolve run` and `evolve retry` refuse to go on with its run'
}
