// Runs the real CLI (cli/evolve.js) as a child process, the way users and CI invoke it.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { after } from 'node:test'
import { EvolveUsageError, type RunProgress } from '../../lib/index.ts'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const cliPath = path.join(repoRoot, 'cli', 'evolve.js')

export interface CliOptions {
  /** Defaults to the repo root. */
  cwd?: string
  /** Added to the environment; DATABASE_URL is only passed if given here. */
  env?: Record<string, string>
  /** Written to stdin, which is otherwise empty (like CI). */
  input?: string
  /** runCli kills the child (SIGKILL) and rejects after this long, a hang, not a speed check. Default 180 s. */
  timeoutMs?: number
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunningCli {
  child: ChildProcess
  readonly stdout: string
  readonly stderr: string
  /** Settles when the child has exited and its output is fully read. */
  exited: Promise<CliResult>
  /** Resolves once stdout or stderr matches, rejects on exit or timeout first. */
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<void>
  /** Sends the signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<CliResult>
  /** The arguments and the output so far, for failure messages. */
  describe(): string
}

// A test that fails before killing its CLI would leave the child's pipes holding the test
// file's process open forever; a root-level after() hook runs once that file's tests are done.
const running = new Set<ChildProcess>()
const killAll = () => running.forEach((child) => child.kill('SIGKILL'))
after(killAll)
process.on('exit', killAll)

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  // The database is chosen per test with --db; colours would break output assertions and
  // node:test sets FORCE_COLOR / NODE_TEST_CONTEXT for its own children.
  delete env.DATABASE_URL
  delete env.FORCE_COLOR
  delete env.NODE_TEST_CONTEXT
  return { ...env, ...extra }
}

export function spawnCli(args: string[], opts: CliOptions = {}): RunningCli {
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: childEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  running.add(child)
  let stdout = ''
  let stderr = ''
  let closed = false
  const listeners = new Set<() => void>()
  const notify = () => listeners.forEach((listener) => listener())
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    notify()
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
    notify()
  })
  child.stdin.on('error', () => {}) // EPIPE if the child exits without reading
  child.stdin.end(opts.input ?? '')

  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => {
      running.delete(child)
      closed = true
      notify()
      resolve({ code, signal, stdout, stderr })
    })
  })
  exited.catch(() => {}) // callers who only use waitFor/kill still see the error there

  return {
    child,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    exited,
    waitFor(pattern, timeoutMs = 120_000) {
      const matches = () =>
        typeof pattern === 'string' ? stdout.includes(pattern) || stderr.includes(pattern) : pattern.test(stdout) || pattern.test(stderr)
      return new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          clearTimeout(timer)
          listeners.delete(check)
          if (error) reject(error)
          else resolve()
        }
        const check = () => {
          if (matches()) done()
          else if (closed) done(new Error(`evolve exited before printing ${pattern}\n${describe()}`))
        }
        const timer = setTimeout(() => done(new Error(`evolve did not print ${pattern} within ${timeoutMs}ms\n${describe()}`)), timeoutMs)
        listeners.add(check)
        check()
      })
    },
    kill(signal = 'SIGKILL') {
      child.kill(signal)
      return exited
    },
    describe,
  }

  function describe() {
    return `args: ${args.join(' ')}\nstdout:\n${stdout}\nstderr:\n${stderr}`
  }
}

/** Waits for a spawned CLI to exit; kills it (SIGKILL) and fails if it takes longer than timeoutMs (a hang, not a speed check). */
export async function exitOf(cli: RunningCli, timeoutMs = 180_000): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      cli.child.kill('SIGKILL')
      reject(new Error(`evolve did not exit within ${timeoutMs}ms\n${cli.describe()}`))
    }, timeoutMs)
  })
  try {
    return await Promise.race([cli.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Runs the CLI to its end; see CliOptions.timeoutMs. */
export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return exitOf(spawnCli(args, opts), opts.timeoutMs)
}

/** Assertion message with the CLI's output, for when an exit code is not the expected one. */
/** The lines of a `--log-format json` (or `--json`) run's stdout, each parsed; a line that is not JSON fails the test. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>
      } catch {
        throw new Error(`not a JSON line: ${line}`)
      }
    })
}

export function output(result: CliResult): string {
  return `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
}

/** One entry of `evolve status --json`: the library's RunProgress, as JSON (plus fields tests probe). */
export type StatusEntry = RunProgress & { [field: string]: unknown }

/** Runs `evolve <args> --json`, fails with its output unless it exits 0, and parses stdout. */
async function json<T>(args: string[], opts: CliOptions): Promise<T> {
  const result = await runCli([...args, '--json'], opts)
  if (result.code !== 0) throw new Error(`evolve ${args.join(' ')} --json failed\n${output(result)}`)
  return JSON.parse(result.stdout) as T
}

/**
 * The `evolve status --json` entry of migration `name`; `flags` are the global flags
 * (e.g. `['--db', url, '--dir', dir]`, or none with a config file in opts.cwd).
 */
export async function statusJson(name: string, flags: string[], opts: CliOptions = {}): Promise<StatusEntry> {
  const entries = await json<StatusEntry[]>(['status', ...flags], opts)
  const entry = entries.find((e) => e.name === name)
  if (!entry) throw new Error(`status --json has no entry for ${name}: ${JSON.stringify(entries)}`)
  return entry
}

export interface FailureEntry {
  key: unknown
  error: string
  attempts: number
}

/** The failures of `evolve failures <name> --json` (its page `{ failures, total, next }`), parsed. */
export async function failuresJson(name: string, flags: string[], opts: CliOptions = {}): Promise<FailureEntry[]> {
  return (await json<{ failures: FailureEntry[] }>(['failures', name, ...flags], opts)).failures
}

/** Environment for a CLI process whose clock (Date.now) runs `skewMs` off, like a host with a skewed clock. */
export function skewedClock(skewMs: number): Record<string, string> {
  const preload = pathToFileURL(path.join(import.meta.dirname, 'skewed-clock.mjs')).href
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`, EVK_CLOCK_SKEW_MS: String(skewMs) }
}

/** Exit 2, exactly one stderr line `evolve: …` containing every fragment, no stack trace anywhere. */
export function assertUsageError(result: CliResult, fragments: string[]): void {
  assert.equal(result.code, 2, output(result))
  const lines = result.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line on stderr:\n${result.stderr}`)
  assert.match(lines[0]!, /^evolve: /)
  for (const fragment of fragments) assert.ok(lines[0]!.includes(fragment), `stderr names ${JSON.stringify(fragment)}: ${lines[0]}`)
  for (const stream of [result.stdout, result.stderr]) assert.doesNotMatch(stream, /^\s+at /m, `no stack trace:\n${output(result)}`)
}

/** The library's counterpart: rejects with one line of EvolveUsageError of `code` matching `message`. */
export async function assertRefused(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof EvolveUsageError, `a usage error, not ${String(err)}`)
    assert.equal(err.code, code, err.message)
    assert.match(err.message, message)
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`)
    return true
  })
}
