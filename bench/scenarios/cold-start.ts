// Scenario 6: the CLI's cold start. `evolve --help` and `evolve status` (an empty SQLite file, an
// empty migrations directory) as fresh processes, next to `node -e 0` in the same run: what the
// command costs on top of starting Node at all. Two launchers: the compiled bin the package
// installs (dist/cli/bin.js, built first if stale) and the repo's cli/evolve.js (tsx, from source).
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { compiledCli, tsxCli } from '../compiled-cli.ts'
import { fmt, log } from '../progress.ts'

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

export async function coldStart(runs: number): Promise<ColdStartResult> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'evk-bench-cold-'))
  try {
    const dbFile = path.join(work, 'empty.db')
    new Database(dbFile).close()
    const migrations = path.join(work, 'migrations')
    await mkdir(migrations)

    const launchers = [
      { launcher: 'compiled' as const, entry: compiledCli() },
      { launcher: 'tsx' as const, entry: tsxCli },
    ]

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
    return { rows }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
