import { Command, CommanderError } from 'commander'
import { EvolveConnectionError } from '../lib/errors.ts'
import { registerControl } from './commands/control.ts'
import { registerFailures } from './commands/failures.ts'
import { registerPlan } from './commands/plan.ts'
import { registerReadOnly } from './commands/read-only.ts'
import { registerRun } from './commands/run.ts'
import { registerServe } from './commands/serve.ts'
import { registerScaffold } from './commands/scaffold.ts'
import { registerSnapshot } from './commands/snapshot.ts'
import { registerStatus } from './commands/status.ts'
import { registerUi } from './commands/ui.ts'
import { EXIT, reportError, reportErrorsAsJson } from './fail.ts'
import { versionLine } from './version.ts'

// `evolve plan | head`: the reader went away, which is not an error of ours.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

const program = new Command('evolve')
  .description('online data migrations: small batches, conflict retry, resumable tracking')
  .version(versionLine(), '-V, --version', 'print the version of evolvekit and of the tracking tables it writes')
  .option('--db <url>', 'database URL: postgres://… or sqlite:<path> (default: DATABASE_URL, evolve.config.*, knexfile)')
  .option('--config <file>', 'config file (default: evolve.config.{ts,mjs,js,json})')
  .option('--dir <dir>', 'migrations directory (default: ./migrations)')
  .showSuggestionAfterError()
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(`evolve: ${text.replace(/^error: /, '')}`) })

// A run that ships its JSON lines ends them with the fatal error, if one stops it (cli/fail.ts).
program.hook('preAction', (_program, command) => {
  if (command.name() !== 'run' && command.name() !== 'retry') return
  const flags = command.opts<{ json?: boolean; logFormat?: string }>()
  reportErrorsAsJson(flags.json ? 'events' : flags.logFormat === 'json' ? 'log' : undefined)
})

registerScaffold(program)
registerStatus(program)
registerPlan(program)
registerRun(program)
registerFailures(program)
registerControl(program)
registerReadOnly(program)
registerSnapshot(program)
registerUi(program)
registerServe(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version also end through here, with exit code 0.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage
  } else {
    process.exitCode = reportError(err)
    // A server that accepted the connection but never answered: knex gave up waiting (its acquire
    // timeout), yet the driver's socket stays open and would hold the process forever.
    if (err instanceof EvolveConnectionError) process.exit()
  }
}
