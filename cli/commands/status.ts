import type { Command } from 'commander'
import { type GlobalOptions, noMigrations, withEvolve } from '../context.ts'
import { EXIT } from '../fail.ts'
import { formatDuration, table } from '../format.ts'
import { describeReadOnly } from './read-only.ts'
import type { RunProgress } from '../../lib/index.ts'

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('every migration and the state of its run (read-only)')
    .option('--json', 'print an array of { name, state, stateText, done, failed, remaining, changedBy, noFile, fileChanged, ... }')
    .option('--exit-status', 'exit 1 when a run shown is failed (0 otherwise), for scripts and CI')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { json?: boolean; exitStatus?: boolean }>()
      process.exitCode = await withEvolve(opts, async (evolve) => {
        // Every file must load and export a migration, as for plan and run: one that does not stops
        // status with its one-line error, not a row that looks pending (evolve.status() lists names
        // only). Within a bound: a file whose import never settles must not hang the command an
        // operator runs when something is wrong.
        await evolve.migrationsWithin()
        const progress = await evolve.status()
        const readOnly = await evolve.readOnly.status()
        // Loud, first, and on stderr under --json: read-only left on by a dead runner must not go unnoticed.
        if (readOnly.readOnly) (opts.json ? console.error : console.log)(describeReadOnly(readOnly))
        // Only `failed` needs a person: pending, running, paused and cancelled runs go on with `evolve run`.
        const exit = opts.exitStatus && progress.some((p) => p.state === 'failed') ? EXIT.runFailed : EXIT.ok
        if (opts.json) {
          console.log(JSON.stringify(progress, null, 2))
          return exit
        }
        if (progress.length === 0) {
          console.log(noMigrations(evolve))
          return exit
        }
        const rows = progress.map((p) => [
          p.noFile ? `${p.name} (no file here)` : p.name,
          p.stateText,
          String(p.done),
          String(p.failed),
          p.remaining === null ? '-' : String(p.remaining),
          p.rowsPerSecond === null ? '-' : String(p.rowsPerSecond),
          formatDuration(p.etaSeconds),
          p.batchSize === null ? '-' : String(p.batchSize),
          String(p.retries),
          String(p.workers),
        ])
        const header = ['NAME', 'STATE', 'DONE', 'FAILED', 'REMAINING', 'ROWS/S', 'ETA', 'BATCH', 'RETRIES', 'WORKERS']
        console.log(table([header, ...rows]))
        for (const p of progress.filter((x) => x.lastError)) console.log(`${p.name}: ${p.lastError}`)
        for (const line of progress.flatMap(fileNotes)) console.log(line)
        return exit
      })
    })
}

/** What status says under the table of a run's file: gone, changed since the run started, a rename. */
function fileNotes(p: RunProgress): string[] {
  const lines: string[] = []
  if (p.noFile && (p.state === 'running' || p.state === 'paused'))
    lines.push(`${p.name}: no file here: \`evolve run\` leaves it ${p.state}; restore its file, or \`evolve cancel ${p.name}\``)
  if (p.fileChanged !== null) {
    const refused = p.fileChanged !== 'its code' && p.state !== 'done' ? ' (`evolve run` refuses to go on with it)' : ''
    lines.push(`${p.name}: file changed since its run started: ${p.fileChanged}${refused}`)
  }
  if (p.codeChangedAt !== null)
    lines.push(`${p.name}: went on with changed code at ${p.codeChangedAt}: rows evolved before used the old code`)
  if (p.renamedFrom !== null) lines.push(`${p.name}: looks like ${p.renamedFrom} renamed (the same table and code)`)
  return lines
}
