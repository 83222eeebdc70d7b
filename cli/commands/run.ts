import type { Command } from 'commander'
import type { Runner } from '../../lib/core/runner.ts'
import { Runner as EvolveRunner } from '../../lib/core/runner.ts'
import { getProgress, type RunProgress } from '../../lib/core/progress.ts'
import type { Knex } from 'knex'
import { EXIT } from '../fail.ts'
import { type GlobalOptions, withSession } from '../context.ts'
import { progressLine } from '../format.ts'
import { positiveInt } from '../parse.ts'

interface RunFlags { workers?: number; batchSize?: number }

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('evolve the named migrations (default: all, in file-name order); resumes interrupted runs')
    .argument('[names...]', 'migration names (file names without extension)')
    .option('--workers <n>', 'workers in this process', positiveInt('--workers'))
    .option('--batch-size <n>', 'rows per batch (overrides the migration files)', positiveInt('--batch-size'))
    .action(async (names: string[], _flags: RunFlags, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & RunFlags>()
      process.exitCode = await withSession(opts, async (s) => {
        const runner = new EvolveRunner({ knex: s.knex, migrations: await s.loadMigrations(names), workers: opts.workers, batchSize: opts.batchSize })
        return drive(runner, s.knex)
      })
    })

  program
    .command('retry')
    .description("re-drive only a run's failed objects")
    .argument('<name>', 'migration name')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>()
      process.exitCode = await withSession(opts, async (s) => {
        const runner = new EvolveRunner({ knex: s.knex, migrations: await s.loadMigrations([name]) })
        return drive(runner, s.knex, () => runner.retry(name).then((r) => [r]))
      })
    })
}

/** Runs to the end while printing plain progress lines; returns the exit code. */
async function drive(runner: Runner, knex: Knex, work: () => Promise<RunProgress[]> = () => runner.run()): Promise<number> {
  const stopOnSignal = () => {
    process.stderr.write('evolve: stopping after the current batch (press Ctrl-C again to abort)\n')
    runner.stop()
    process.once('SIGINT', () => process.exit(130))
  }
  process.once('SIGINT', stopOnSignal)
  process.once('SIGTERM', () => runner.stop())
  const stopPrinting = printProgress(runner, knex)
  try {
    const results = await work()
    for (const r of results) console.log(progressLine(r))
    const interrupted = results.some((r) => r.state === 'running')
    if (interrupted) console.log('stopped: `evolve run` resumes where this left off')
    return results.every((r) => r.state === 'done') ? EXIT.ok : EXIT.runFailed
  } finally {
    stopPrinting()
    process.off('SIGINT', stopOnSignal)
  }
}

const PRINT_EVERY_MS = 1000

/** Subscribes to the runner's events and prints at most one progress line a second. */
function printProgress(runner: Runner, knex: Knex): () => void {
  let last = 0
  const { events } = runner
  const onBatch = ({ run }: { run: string }) => {
    if (Date.now() - last < PRINT_EVERY_MS) return
    last = Date.now()
    getProgress(knex, run).then((p) => console.log(progressLine(p)), () => {})
  }
  events.on('batch:done', onBatch)
  events.on('run:start', ({ run, total, resumed }) => console.log(`${run}: ${resumed ? 'resuming' : 'starting'}${total === null ? '' : `, ${total} rows pending`}`))
  events.on('run:skip', ({ run, state, reason }) => console.log(`${run}: ${state}, skipped (${reason})`))
  events.on('object:failed', ({ run, key, error }) => console.log(`${run}: object ${JSON.stringify(key)} failed: ${error}`))
  events.on('sweep', ({ run, pass, pending }) => console.log(`${run}: sweep ${pass}: ${pending} rows written in the old shape meanwhile`))
  events.on('batch:takeover', ({ run, batchId }) => console.log(`${run}: took over batch ${batchId} from a dead worker`))
  events.on('run:end', ({ run, error }) => {
    if (error) console.log(`${run}: ${error}`)
  })
  return () => events.removeAllListeners()
}
