// Runs the real CLI (cli/evolve.js) as a child process, the way users and CI invoke it.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { after } from 'node:test'
import { fileURLToPath } from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const cliPath = path.join(repoRoot, 'cli', 'evolve.js')

export interface CliOptions {
  /** Defaults to the repo root. */
  cwd?: string
  /** Added to the environment; DATABASE_URL is only passed if given here. */
  env?: Record<string, string>
  /** Written to stdin, which is otherwise empty (like CI). */
  input?: string
  /** runCli kills the child (SIGKILL) and rejects after this long. Default 60s. */
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
    waitFor(pattern, timeoutMs = 30_000) {
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
  }

  function describe() {
    return `args: ${args.join(' ')}\nstdout:\n${stdout}\nstderr:\n${stderr}`
  }
}

export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000
  const cli = spawnCli(args, opts)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      cli.child.kill('SIGKILL')
      reject(new Error(`evolve ${args.join(' ')} timed out after ${timeoutMs}ms\nstdout:\n${cli.stdout}\nstderr:\n${cli.stderr}`))
    }, timeoutMs)
  })
  try {
    return await Promise.race([cli.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}
