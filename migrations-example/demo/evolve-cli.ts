// The demo drives the real `evolve` command as child processes, the way an operator would.
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../cli/evolve.js', import.meta.url))
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url))

/** Every child the demo started and that has not exited: killed if the demo has to stop early. */
export const children = new Set<ChildProcess>()

export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL')
}

export interface EvolveProcess {
  child: ChildProcess
  /** Resolves with the exit code (null when killed) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * Starts `evolve <args> --db <db> --dir <migrations>`; each stdout line goes to `onLine`. With
 * `live` (the demo's stdout is a terminal) the child gets the terminal itself, so `evolve run`
 * draws its live progress there, and `onLine` sees nothing: what the demo needs then comes from
 * the database and `evolve status --json`.
 */
export function evolve(
  db: string,
  args: string[],
  onLine: (line: string) => void,
  options: { env?: Record<string, string>; live?: boolean } = {},
): EvolveProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(options.live ? {} : { NO_COLOR: '1' }), ...options.env }
  delete env.DATABASE_URL // the database is the one given with --db, nothing else
  const argv = [CLI, ...args, '--db', db, '--dir', MIGRATIONS_DIR]
  const child = spawn(process.execPath, argv, { env, stdio: options.live ? 'inherit' : ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  if (!options.live) {
    createInterface({ input: child.stdout! }).on('line', onLine)
    createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`  evolve: ${line}\n`))
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => {
      children.delete(child)
      resolve({ code, signal })
    })
  })
  return { child, exited }
}

/** Runs `evolve <args>` to the end and returns its stdout; a non-zero exit is an error. */
export async function evolveOutput(db: string, args: string[]): Promise<string> {
  const lines: string[] = []
  const { code, signal } = await evolve(db, args, (line) => lines.push(line)).exited
  if (code !== 0) throw new Error(`evolve ${args.join(' ')} exited with ${code ?? signal}:\n${lines.join('\n')}`)
  return lines.join('\n')
}

/** One entry of `evolve status --json` (the fields the demo reads). */
export interface StatusEntry {
  name: string
  state: string
  done: number
  failed: number
  remaining: number | null
  workers: number
  /** Snapshot-mode runs: where the run is, and the read-only window (ms so far, or in all once `until` is set). */
  snapshot?: {
    step: string
    stepNumber: number | null
    steps: string[]
    table: string
    backup: string
    readOnly: { since: string; until: string | null; ms: number } | null
    swappedAt: string | null
  }
}

export async function status(db: string): Promise<StatusEntry[]> {
  return JSON.parse(await evolveOutput(db, ['status', '--json'])) as StatusEntry[]
}

/**
 * `evolve run <args>` as the demo shows it: on a terminal with the terminal's own live progress;
 * off one, with `--log-format json` read by `watcher` into plain lines (or, without a watcher,
 * the CLI's own plain lines, indented).
 */
export function evolveRun(
  ctx: { db: string; live: boolean; say(line: string): void },
  args: string[],
  watcher?: { line(text: string): void },
  env: Record<string, string> = {},
): EvolveProcess {
  if (ctx.live) return evolve(ctx.db, args, () => {}, { env, live: true })
  if (watcher) return evolve(ctx.db, [...args, '--log-format', 'json'], (line) => watcher.line(line), { env })
  return evolve(ctx.db, args, (line) => ctx.say(`  ${line}`), { env })
}

/** After a live child was killed mid-frame: the cursor back (ink hides it) and a fresh line. */
export function restoreTerminal(live: boolean): void {
  if (live) process.stdout.write('\x1b[?25h\n')
}

/** The database's words without the SQL knex puts in front of them on PostgreSQL. */
export function refusalText(message: string | null): string {
  const at = message?.indexOf('read-only:') ?? -1
  return at < 0 ? String(message) : message!.slice(at)
}
