// `npm test` entry: runs the unit tests (test/unit, pure logic, no database) first and stops
// there if one fails; then provides a PostgreSQL server (DATABASE_URL or a throwaway embedded
// one) and runs the other test/**/*.test.ts under node:test. Either way the last thing printed
// is the summary of the run that decided the exit code.
// Usage: npm test [-- <file or substring>...]
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { embeddedPostgres, serverVersion } from './helpers/embedded-postgres.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const toPosix = (p: string) => p.split(path.sep).join('/')

let testChild: ChildProcess | undefined
let interrupted: NodeJS.Signals | undefined
let stopServer: () => Promise<void> = async () => {}

function findTestFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findTestFiles(full)
    return entry.name.endsWith('.test.ts') ? [toPosix(path.relative(root, full))] : []
  })
}

function selectFiles(filters: string[]): string[] {
  const all = findTestFiles(path.join(root, 'test')).sort()
  if (filters.length === 0) return all
  // npm runs scripts from the package root; INIT_CWD is where the user typed the command.
  const base = process.env.INIT_CWD ?? process.cwd()
  const asPaths = filters.map((f) => toPosix(path.relative(root, path.resolve(base, f))))
  return all.filter((file) => asPaths.some((p) => file === p || file.startsWith(`${p}/`)) || filters.some((f) => file.includes(toPosix(f))))
}

const isUnit = (file: string) => file.startsWith('test/unit/')

function runTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=tap', ...files]
  return new Promise((resolve, reject) => {
    testChild = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' })
    testChild.once('error', reject)
    testChild.once('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)))
  })
}

async function shutdown(code: number): Promise<never> {
  try {
    await stopServer()
  } catch (error) {
    console.error(`test/run: failed to stop PostgreSQL: ${String(error)}`)
    code ||= 1
  }
  process.exit(code)
}

function onSignal(signal: NodeJS.Signals): void {
  interrupted ??= signal
  // With tests running, let them end first; the normal path below then stops the server.
  if (testChild && testChild.exitCode === null && testChild.signalCode === null) {
    testChild.kill(signal)
  } else {
    void shutdown(128 + os.constants.signals[signal])
  }
}

async function main(): Promise<number> {
  const files = selectFiles(process.argv.slice(2))
  if (files.length === 0) {
    console.error(`test/run: no test files match ${process.argv.slice(2).join(' ') || 'test/**/*.test.ts'}`)
    return 1
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal)

  // Seconds, not minutes, to learn that the logic itself is broken; no server needed for it.
  const unitFiles = files.filter(isUnit)
  const dbFiles = files.filter((file) => !isUnit(file))
  if (unitFiles.length > 0) {
    const code = await runTests(unitFiles, process.env)
    if (interrupted) return 128 + os.constants.signals[interrupted]
    if (code !== 0 || dbFiles.length === 0) return code
  }

  let url = process.env.DATABASE_URL
  let source = 'DATABASE_URL'
  try {
    if (!url) {
      const server = embeddedPostgres()
      stopServer = server.stop
      url = await server.start()
      source = 'embedded-postgres (stopped after the run)'
    }
    const { host } = URL.canParse(url) ? new URL(url) : { host: 'an unparseable URL' }
    const version = await serverVersion(url).catch((error: Error) => {
      throw new Error(`cannot connect to PostgreSQL at ${host} from ${source}: ${error.message}`)
    })
    console.log(`test/run: PostgreSQL ${version} at ${host} from ${source}`)
  } catch (error) {
    console.error(`test/run: ${error instanceof Error ? error.message : String(error)}`)
    return 1
  }
  const code = await runTests(dbFiles, { ...process.env, DATABASE_URL: url })
  // node --test exits 1 when signalled; report the signal like a shell would.
  return interrupted ? 128 + os.constants.signals[interrupted] : code
}

main().then(shutdown, (error: unknown) => {
  console.error('test/run:', error)
  return shutdown(1)
})
