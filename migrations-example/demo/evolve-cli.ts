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

/** Starts `evolve <args> --db <db> --dir <migrations>`; each stdout line goes to `onLine`. */
export function evolve(db: string, args: string[], onLine: (line: string) => void, extraEnv: Record<string, string> = {}): EvolveProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extraEnv }
  delete env.DATABASE_URL // the database is the one given with --db, nothing else
  const child = spawn(process.execPath, [CLI, ...args, '--db', db, '--dir', MIGRATIONS_DIR], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  createInterface({ input: child.stdout! }).on('line', onLine)
  createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`  evolve: ${line}\n`))
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
}

export async function status(db: string): Promise<StatusEntry[]> {
  return JSON.parse(await evolveOutput(db, ['status', '--json'])) as StatusEntry[]
}
