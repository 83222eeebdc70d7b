import type { Command } from 'commander'
import { usage } from '../../lib/errors.ts'
import { listMigrationFiles } from '../../lib/config/load-migrations.ts'
import { listFailures } from '../../lib/store/failures.ts'
import { getRun } from '../../lib/store/runs.ts'
import { hasSchema } from '../../lib/store/schema.ts'
import { type GlobalOptions, withSession } from '../context.ts'
import { table } from '../format.ts'

export function registerFailures(program: Command): void {
  program
    .command('failures')
    .description('the objects a run could not evolve, with their errors')
    .argument('<name>', 'migration name')
    .option('--json', 'print an array of { key, error, attempts, ... }')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { json?: boolean }>()
      await withSession(opts, async (s) => {
        if (!(await hasSchema(s.knex)) || !(await getRun(s.knex, name))) {
          const known = listMigrationFiles(s.config.migrationsDir).map((f) => f.name)
          if (!known.includes(name)) {
            throw usage(
              'E_UNKNOWN_MIGRATION',
              `no migration named "${name}" in ${s.config.migrationsDir} (found: ${known.join(', ') || 'none'})`,
            )
          }
          throw usage('E_UNKNOWN_RUN', `migration "${name}" has not run yet: see \`evolve status\``)
        }
        const failures = await listFailures(s.knex, name)
        if (opts.json) {
          console.log(
            JSON.stringify(
              failures.map((f) => ({
                ...f,
                createdAt: new Date(f.createdAt).toISOString(),
                updatedAt: new Date(f.updatedAt).toISOString(),
              })),
              null,
              2,
            ),
          )
          return
        }
        if (failures.length === 0) {
          console.log(`${name}: no failed objects`)
          return
        }
        console.log(table([['KEY', 'ATTEMPTS', 'ERROR'], ...failures.map((f) => [JSON.stringify(f.key), String(f.attempts), f.error])]))
        console.log(`${failures.length} failed: fix the cause, then \`evolve retry ${name}\``)
      })
    })
}
