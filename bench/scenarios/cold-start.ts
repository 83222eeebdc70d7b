// Scenario 6: the CLI's cold start. `evolve --help` and `evolve status` (an empty SQLite file, an
// empty migrations directory) as fresh processes, next to `node -e 0` in the same run: what the
// command costs on top of starting Node at all. Two launchers when dist/ is built: the compiled
// bin the package installs (dist/cli/bin.js) and the repo's cli/evolve.js (tsx, from source).
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { fmt, log } from '../progress.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface ColdStartRow {
  /** What ran, e.g. `node -e 0` or `evolve --help`. */
  command: string
  /** `compiled` (dist/cli/bin.js), `tsx` (cli/evolve.js) or `node`. */
  launcher: 'node' | 'compiled' | 'tsx'
  runs: number
  medianMs: number
  minMs: number
  maxMs: number
  /** Median over the median of `node -e 0`. */
  ratioToNode: number
}

export interface ColdStartResult {
  rows: ColdStartRow[]
  /** Why the compiled bin was not measured, or that it is older than the sources; null when fresh. */
  compiledNote: string | null
}

/** Wall time of one process from spawn to exit, ms. Throws on a non-zero exit. */
function timeOnce(args: string[], cwd: string): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => {
      const ms = performance.now() - started
      if (code === 0) resolve(ms)
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.slice(-1000)}`))
    })
  })
}

/** The newest modification time under lib/ and cli/, to tell whether dist/ is stale. */
function newestSource(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const full = path.join(dir, entry.name)
    return Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs)
  }, 0)
}

export async function coldStart(runs: number): Promise<ColdStartResult> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'evk-bench-cold-'))
  try {
    const dbFile = path.join(work, 'empty.db')
    new Database(dbFile).close()
    const migrations = path.join(work, 'migrations')
    await mkdir(migrations)

    const compiled = path.join(root, 'dist/cli/bin.js')
    let compiledNote: string | null = null
    const launchers: { launcher: 'compiled' | 'tsx'; entry: string }[] = []
    if (existsSync(compiled)) {
      launchers.push({ launcher: 'compiled', entry: compiled })
      const sources = Math.max(newestSource(path.join(root, 'lib')), newestSource(path.join(root, 'cli')))
      if (statSync(compiled).mtimeMs < sources) compiledNote = 'dist/ is older than the sources: run `npm run build` for current figures'
    } else {
      compiledNote = 'dist/ is not built (`npm run build`): the compiled bin was not measured'
    }
    launchers.push({ launcher: 'tsx', entry: path.join(root, 'cli/evolve.js') })

    const cases = [
      { command: 'node -e 0', launcher: 'node' as const, args: ['-e', '0'] },
      ...launchers.flatMap(({ launcher, entry }) => [
        { command: 'evolve --help', launcher, args: [entry, '--help'] },
        { command: 'evolve status', launcher, args: [entry, 'status', '--db', `sqlite:${dbFile}`, '--dir', migrations] },
      ]),
    ]
    // One warm-up each (jiti's and tsx's disk caches, the OS file cache), then the cases in turn,
    // round after round, so a burst of load elsewhere hits them all alike.
    for (const c of cases) await timeOnce(c.args, work)
    const samples = cases.map(() => [] as number[])
    for (let round = 0; round < runs; round++) {
      for (const [i, c] of cases.entries()) samples[i]!.push(await timeOnce(c.args, work))
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const nodeMedian = median(samples[0]!)
    const rows = cases.map((c, i) => ({
      command: c.command,
      launcher: c.launcher,
      runs,
      medianMs: median(samples[i]!),
      minMs: Math.min(...samples[i]!),
      maxMs: Math.max(...samples[i]!),
      ratioToNode: median(samples[i]!) / nodeMedian,
    }))
    for (const r of rows) log(`cold start: ${r.command} (${r.launcher}): median ${fmt(r.medianMs)} ms over ${runs} runs`)
    return { rows, compiledNote }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
