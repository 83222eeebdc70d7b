import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import type { Command } from 'commander'
import { CONFIG_FILES, resolveMigrationsDir } from '../../lib/config/resolve-config.ts'
import { usage } from '../../lib/errors.ts'
import type { GlobalOptions } from '../context.ts'
import { hasPassword } from '../../lib/config/parse-url.ts'
import { configTemplate, migrationTemplate } from './templates.ts'

const MAX_NAME_LENGTH = 200

export function registerScaffold(program: Command): void {
  program
    .command('init')
    .description('create evolve.config.ts (or the --config file) and the migrations directory')
    .action((_flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>()
      if (opts.config !== undefined && !opts.config.endsWith('.ts'))
        throw usage(
          'E_BAD_FLAG',
          `init writes a TypeScript config: name it with .ts (e.g. --config ${opts.config.replace(/\.[^./]*$/, '')}.ts)`,
        )
      const existing =
        opts.config !== undefined
          ? existsSync(resolve(opts.config))
            ? opts.config
            : undefined
          : CONFIG_FILES.find((f) => existsSync(resolve(f)))
      if (existing) throw usage('E_EXISTS', `${existing} already exists: nothing changed`)
      const file = opts.config ?? 'evolve.config.ts'
      const dir = opts.dir ?? 'migrations'
      const db = opts.db ?? 'sqlite:./app.db'
      const text = configTemplate(db, dir, file)
      mkdirSync(dirname(resolve(file)), { recursive: true }) // --config conf/evolve.config.ts makes conf/
      writeFileSync(file, text)
      mkdirSync(dir, { recursive: true })
      // Only the default name is found on its own: another one is named again with every command.
      const find = opts.config === undefined ? '' : ` (pass --config ${file} to every command)`
      console.log(`created ${file} and ${dir}/${find}: next, \`evolve create <name>\``)
      if (hasPassword(db)) {
        console.log(`the password is not written to ${file}: set PGPASSWORD (or DATABASE_URL) where evolve runs`)
      }
    })

  program
    .command('create')
    .description('create a timestamped migration file from a template')
    .argument('<name>', 'what the migration does, e.g. lowercase-emails')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>()
      if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) {
        throw usage('E_BAD_NAME', `migration name "${name}" must be letters, digits, - and _ (e.g. lowercase-emails)`)
      }
      // The file name (stamp, name, .ts) must fit a file system's 255 bytes, and the run's name
      // (with a snapshot copy's `.shadow`) the tracking tables' 255 characters.
      if (name.length > MAX_NAME_LENGTH) {
        throw usage(
          'E_BAD_NAME',
          `migration name of ${name.length} characters: keep it to ${MAX_NAME_LENGTH} (say what it does in its description)`,
        )
      }
      // Where `run` will look: --dir, else the config file's migrations directory.
      const dir = await resolveMigrationsDir({ ...opts, cwd: process.cwd(), env: process.env })
      mkdirSync(dir, { recursive: true })
      const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14)
      const file = join(dir, `${stamp}_${name}.ts`)
      if (existsSync(file)) throw usage('E_EXISTS', `${file} already exists: nothing changed`)
      writeFileSync(file, migrationTemplate(name))
      console.log(`created ${relative(process.cwd(), file)}`)
    })
}
