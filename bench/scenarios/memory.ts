// Scenario 3: peak RSS of the runner. The CLI a user installs (`node dist/cli/bin.js run --db …
// --dir …`) runs one transform migration (rows pass through JavaScript, every column read) as a
// child process, at two table sizes.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { compiledCli, root } from '../compiled-cli.ts'
import { type BenchDatabase, withSql } from '../databases.ts'
import { fmt, log } from '../progress.ts'
import { countPending, createUsers } from '../users-table.ts'

const mb = (kib: number) => (kib * 1024) / 1e6

const MIGRATION = `// written by bench/scenarios/memory.ts
export default {
  description: 'Lower-case every e-mail address',
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)'),
  transform: (row) => ({ email: row.email.toLowerCase() }),
}
`

export interface MemoryRun {
  rows: number
  /** getrusage maxrss of the CLI process, MB (10^6 bytes). */
  peakRssMb: number
  /** The highest VmHWM seen while polling /proc (a cross-check), MB. */
  polledHwmMb: number | null
  /** Smallest V8 heapUsed in the second half of the run, MB: the live set. Flat unless something leaks. */
  heapFloorMb: number | null
  seconds: number
  rowsPerSecond: number
}

export interface MemoryResult {
  /** `evolve status` against the same database: the CLI's footprint doing almost nothing. */
  idleRssMb: number
  runs: MemoryRun[]
  /** Peak at the larger size ÷ peak at the smaller one. */
  ratio: number
}

async function readHwmKb(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null)
  const match = status?.match(/^VmHWM:\s+(\d+) kB/m)
  return match ? Number(match[1]) : null
}

/** Runs the compiled CLI with `args`; resolves to its peak RSS and duration. Throws on a non-zero exit. */
export async function measureCli(
  args: string[],
): Promise<{ peakKb: number; polledKb: number | null; heapFloorMb: number | null; seconds: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evk-bench-rss-'))
  const rssFile = path.join(dir, 'maxrss')
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', path.join(root, 'bench/rss-probe.mjs'), compiledCli(), ...args], {
    cwd: root,
    env: { ...process.env, EVK_BENCH_RSS_FILE: rssFile, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  let polled: number | null = null
  const poll = setInterval(() => {
    void readHwmKb(child.pid!).then((kb) => {
      if (kb !== null) polled = Math.max(polled ?? 0, kb)
    })
  }, 100)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearInterval(poll)
  const seconds = (performance.now() - started) / 1000
  try {
    if (code !== 0) throw new Error(`evolve ${args[0]} exited ${code}:\n${output.slice(-2000)}`)
    const probe = JSON.parse(await readFile(rssFile, 'utf8')) as { maxRssKib: number; heapFloorMb: number | null }
    return { peakKb: probe.maxRssKib, polledKb: polled, heapFloorMb: probe.heapFloorMb, seconds }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export async function memory(db: BenchDatabase, sizes: number[]): Promise<MemoryResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evk-bench-migrations-'))
  try {
    await writeFile(path.join(dir, '20260101000000_lowercase-emails.mjs'), MIGRATION)
    const runs: MemoryRun[] = []
    let idleRssMb = NaN
    for (const rows of sizes) {
      log(`memory: building a ${fmt(rows)}-row table`)
      await withSql(db, (sql) => createUsers(sql, rows))
      if (Number.isNaN(idleRssMb)) idleRssMb = mb((await measureCli(['status', '--db', db.url, '--dir', dir])).peakKb)
      const m = await measureCli(['run', '--db', db.url, '--dir', dir])
      const left = await withSql(db, countPending)
      if (left !== 0) throw new Error(`memory: ${left} rows still pending after evolve run`)
      const polledHwmMb = m.polledKb === null ? null : mb(m.polledKb)
      runs.push({
        rows,
        peakRssMb: mb(m.peakKb),
        polledHwmMb,
        heapFloorMb: m.heapFloorMb,
        seconds: m.seconds,
        rowsPerSecond: rows / m.seconds,
      })
      log(
        `memory: evolve run over ${fmt(rows)} rows: peak RSS ${fmt(mb(m.peakKb), 1)} MB, heap floor ${fmt(m.heapFloorMb ?? NaN, 1)} MB, ${fmt(m.seconds, 1)} s`,
      )
    }
    return { idleRssMb, runs, ratio: runs[runs.length - 1]!.peakRssMb / runs[0]!.peakRssMb }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
