import type { Command } from 'commander'
import { type ReadOnlyState, parseDuration, snapshotHolding } from '../../lib/api/read-only.ts'
import { type GlobalOptions, withEvolve } from '../context.ts'

interface OnFlags extends GlobalOptions {
  message?: string
  tables?: string
  for?: string
  json?: boolean
}

export function registerReadOnly(program: Command): void {
  const readonly = program
    .command('readonly')
    .description('put the live app in read-only mode (the database refuses its writes) and take it out again')
  readonly
    .command('on')
    .description('turn read-only on: writes to the tables fail at once, reads keep working')
    .option('--message <text>', 'what users are told (at most 500 characters)')
    .option('--tables <a,b>', 'only these tables (default: every table but the evolve_* ones)')
    .option('--for <duration>', 'turn itself off after this long: 30m, 2h, 1d')
    .option('--json', 'print the new state as JSON')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<OnFlags>()
      // Checked here so that a bad value is told by the flag's name (the library names its option).
      if (opts.for !== undefined) parseDuration(opts.for, '--for')
      await withEvolve(opts, async (evolve) => {
        const tables = opts.tables === undefined ? undefined : opts.tables.split(',')
        print(await evolve.readOnly.enable({ message: opts.message, tables, for: opts.for }), opts.json)
      })
    })
  readonly
    .command('off')
    .description('turn read-only off: writes work again at once (harmless when it is off)')
    .option('--force', "also a snapshot run's switch (that run then refuses to swap its copy in, fails, and starts over when run again)")
    .option('--json', 'print the new state as JSON')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<OnFlags & { force?: boolean }>()
      await withEvolve(opts, async (evolve) => {
        const held = opts.force ? snapshotHolding((await evolve.readOnly.status()).by) : undefined
        const state = await evolve.readOnly.disable({ force: opts.force })
        // On stderr, so --json stays clean: what forcing a snapshot's switch does to that run.
        if (held && !state.readOnly)
          console.error(
            `evolve: snapshot run "${held}" held read-only: its copy now lacks the app's writes, so it will refuse to swap it in and fail; \`evolve run ${held}\` then starts over from a fresh copy`,
          )
        print(state, opts.json)
      })
    })
  readonly
    .command('status')
    .description('is the app read-only, since when, by whom, for which tables')
    .option('--json', 'print { readOnly, message, tables, since, by, expiresAt }')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<OnFlags>()
      await withEvolve(opts, async (evolve) => print(await evolve.readOnly.status(), opts.json))
    })
}

function print(state: ReadOnlyState, json?: boolean): void {
  if (json) console.log(JSON.stringify(state, null, 2))
  else console.log(describeReadOnly(state))
}

/** The switch in a few lines; loud when on, with the command that turns it off. */
export function describeReadOnly(state: ReadOnlyState): string {
  if (!state.readOnly) return 'read-only: off (the app can write)'
  const lines = [
    `READ-ONLY: ON for ${state.tables ? state.tables.join(', ') : 'every table'} since ${state.since} by ${state.by}`,
    `  message: ${state.message}`,
  ]
  if (state.expiresAt) lines.push(`  turns itself off at ${state.expiresAt}`)
  const run = state.by?.startsWith('run ') ? state.by.slice(4) : undefined
  if (run) lines.push(`  migration "${run}" turned it on and turns it off when done: if its runner died, \`evolve run ${run}\` finishes it`)
  const snapshot = snapshotHolding(state.by)
  if (snapshot) {
    lines.push(`  snapshot run "${snapshot}" holds it while it evolves a copy and turns it off after the swap`)
    lines.push(
      `  let writes in before that: evolve cancel ${snapshot} (the table untouched); if its runner died, \`evolve run ${snapshot}\` finishes it`,
    )
  } else lines.push('  turn it off: evolve readonly off')
  return lines.join('\n')
}
