import type { Command } from 'commander'
import { listMigrationFiles } from '../../lib/config/load-migrations.ts'
import { getProgress } from '../../lib/core/progress.ts'
import { listRuns } from '../../lib/store/runs.ts'
import { hasSchema } from '../../lib/store/schema.ts'
import { type GlobalOptions, withSession } from '../context.ts'
import { formatDuration, stateText, table } from '../format.ts'

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('every migration and the state of its run (read-only)')
    .option('--json', 'print an array of { name, state, done, failed, remaining, ... }')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { json?: boolean }>()
      await withSession(opts, async (s) => {
        const files = listMigrationFiles(s.config.migrationsDir).map((f) => f.name)
        const runs = (await hasSchema(s.knex)) ? (await listRuns(s.knex)).map((r) => r.name) : []
        const names = [...new Set([...files, ...runs])].sort()
        const progress = await Promise.all(names.map((n) => getProgress(s.knex, n)))
        if (opts.json) {
          console.log(JSON.stringify(progress, null, 2))
          return
        }
        if (progress.length === 0) {
          console.log(`no migrations in ${s.config.migrationsDir}: create one with \`evolve create <name>\``)
          return
        }
        const rows = progress.map((p) => [
          p.name,
          stateText(p),
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
      })
    })
}
