// Renders a run as Markdown tables (readable on a terminal, pasted into docs/benchmarks.md) and
// writes bench/results.json.
import { rename, writeFile } from 'node:fs/promises'
import { fmt } from './progress.ts'
import type { BenchResults } from './results.ts'
import type { LatencyStats } from './stats.ts'

function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

const s = (seconds: number) => fmt(seconds, seconds < 10 ? 2 : 1)
const x = (ratio: number) => (Number.isFinite(ratio) ? `${fmt(ratio, 2)}×` : '–')
const lat = (l: LatencyStats) => (l.count === 0 ? '–' : `${fmt(l.p50, 1)} / ${fmt(l.p99, 1)} / ${fmt(l.max, 0)}`)

function machine(r: BenchResults): string {
  const m = r.machine
  const git = m.git ? ` · commit ${m.git.commit}${m.git.libDirty ? ' + uncommitted lib/ changes' : ''}` : ''
  return [
    `${m.date} · ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB · load average at start ${m.loadAverage.join(' ')} · ${m.os}`,
    `Node ${m.node} · PostgreSQL ${m.postgres.version} (${m.postgres.source}) · SQLite ${m.sqlite}${git}`,
    `${r.options.quick ? '--quick: ' : ''}${fmt(r.options.rows)} rows · bench wall time ${fmt(r.durationSeconds / 60, 1)} min`,
  ].join('  \n')
}

function throughput(r: BenchResults): string[] {
  return r.throughput.map((t) => {
    const rows = t.methods.map((m) => {
      const notes: string[] = []
      if (m.sampled) notes.push(`timed on the first ${fmt(m.sampled.rows)} rows; whole table ≈ ${s(m.sampled.extrapolatedSeconds)} s`)
      if (m.evolve)
        notes.push(`${m.evolve.batches} batches, largest ${fmt(m.evolve.maxBatchRows)} rows, longest ${fmt(m.evolve.maxBatchMs)} ms`)
      if (m.pendingAfter !== (m.sampled ? m.sampled.of - m.sampled.rows : 0)) notes.push(`**${fmt(m.pendingAfter)} rows left pending**`)
      return [`(${m.id}) ${m.label}`, fmt(m.rows), s(m.seconds), fmt(m.rowsPerSecond), x(m.ratioToRaw), notes.join('; ')]
    })
    return `### Throughput, ${t.dialect}, ${fmt(t.rows)} rows\n\n${table(['method', 'rows', 'seconds', 'rows/s', '× (a)', 'notes'], rows)}`
  })
}

function live(r: BenchResults): string[] {
  return [r.liveImpact, r.liveImpactSqlite ?? null].flatMap((l) => (l ? liveTable(l) : []))
}

function liveTable(l: NonNullable<BenchResults['liveImpact']>): string[] {
  const rows = l.conditions.map((c) => [
    c.label,
    c.migrationSeconds === null ? `(${s(c.seconds)} s window)` : s(c.migrationSeconds),
    lat(c.reads),
    lat(c.writes),
    x(c.writeP99Ratio),
    fmt(c.writeService.max, 0),
    c.writesOver100ms,
    c.writesBlockedShare === null ? '–' : `${fmt(c.writesBlockedShare * 100)}%`,
    c.errors,
  ])
  const header = [
    'condition',
    'migration s',
    'reads p50 / p99 / max ms',
    'writes p50 / p99 / max ms',
    'write p99 × baseline',
    'write stmt max ms',
    'writes > 100 ms',
    'writes blocked, % of migration',
    'errors',
  ]
  const about = `${l.app.rate} ops/s on ${l.app.connections} reader + ${l.app.connections} writer connections (random ids, point SELECT / single-row UPDATE), a child process; latency from each operation's scheduled start.`
  return [`### Live impact, ${l.dialect ?? 'postgres'}, ${fmt(l.rows)} rows\n\n${about}\n\n${table(header, rows)}`]
}

function memory(r: BenchResults): string[] {
  const m = r.memory
  if (!m) return []
  const mbOrDash = (v: number | null) => (v === null ? '–' : fmt(v, 1))
  const rows = m.runs.map((run) => [
    fmt(run.rows),
    fmt(run.peakRssMb, 1),
    mbOrDash(run.polledHwmMb),
    mbOrDash(run.heapFloorMb),
    s(run.seconds),
    fmt(run.rowsPerSecond),
  ])
  return [
    `### Memory: peak RSS of \`evolve run\` (the compiled CLI, dist/cli/bin.js, as a child; transform mode, every column), postgres\n\n` +
      `${table(['rows', 'peak RSS MB (maxrss)', 'VmHWM polled MB', 'live heap floor MB', 'run s', 'rows/s'], rows)}\n\n` +
      `Ratio ${x(m.ratio)}; \`evolve status\` alone peaks at ${fmt(m.idleRssMb, 1)} MB.`,
  ]
}

function wide(r: BenchResults): string[] {
  return (r.wideRows ?? []).map((w) => {
    const rows = w.runs.map((run) => [run.label, fmt(run.bodyBytes), fmt(run.peakRssMb, 1), s(run.seconds)])
    return (
      `### Memory on wide rows, ${w.dialect}: ${fmt(w.rows)} docs, transform of the short title\n\n` +
      `${table(['run', 'body bytes', 'peak RSS MB', 'run s'], rows)}\n\n` +
      `Wide ÷ narrow (columns declared): ${x(w.ratio)}.`
    )
  })
}

function scale(r: BenchResults): string[] {
  const o = r.scaleOut
  if (!o) return []
  const rows = o.runs.map((run) => [run.workers, s(run.seconds), fmt(run.rowsPerSecond), x(run.ratioToOne)])
  return [`### Scale-out, postgres, ${o.mode}, ${fmt(o.rows)} rows\n\n${table(['workers', 'seconds', 'rows/s', '× 1 worker'], rows)}`]
}

function coldStart(r: BenchResults): string[] {
  const c = r.coldStart
  if (!c) return []
  const rows = c.rows.map((row) => [
    `\`${row.command}\``,
    row.launcher === 'compiled' ? 'dist/cli/bin.js' : row.launcher === 'tsx' ? 'cli/evolve.js (tsx)' : '–',
    fmt(row.medianMs),
    `${fmt(row.minMs)} … ${fmt(row.maxMs)}`,
    x(row.ratioToNode),
  ])
  const about = `Fresh processes, ${c.rows[0]?.runs ?? 0} runs each after one warm-up; \`status\` on an empty SQLite file and an empty migrations directory.`
  return [`### Cold start of the CLI\n\n${about}\n\n` + table(['command', 'launcher', 'median ms', 'min … max ms', '× node -e 0'], rows)]
}

function api(r: BenchResults): string[] {
  const a = r.adminApi
  if (!a) return []
  const row = [
    a.runs,
    a.concurrency,
    s(a.seconds),
    fmt(a.requestsPerSecond),
    fmt(a.latencyMs.p50, 1),
    fmt(a.latencyMs.p99, 1),
    a.liveRunState,
  ]
  return [
    `### Admin API: GET /status, postgres\n\n${table(['runs', 'clients', 'seconds', 'req/s', 'p50 ms', 'p99 ms', 'going run'], [row])}`,
  ]
}

export function renderReport(r: BenchResults): string {
  const targets = table(
    ['target', 'goal', 'measured', ''],
    r.targets.map((t) => [t.name, t.target, t.measured, t.pass ? '✅ pass' : '❌ miss']),
  )
  return [
    machine(r),
    ...throughput(r),
    ...live(r),
    ...memory(r),
    ...coldStart(r),
    ...wide(r),
    ...scale(r),
    ...snapshotSection(r),
    ...api(r),
    `### Targets\n\n${targets}`,
    ...r.failures.map((f) => `**${f.scenario} failed:** ${f.error}`),
  ].join('\n\n')
}

function snapshotSection(r: BenchResults): string[] {
  if (!r.snapshot || r.snapshot.length === 0) return []
  const rows = r.snapshot.map((t) => [
    t.dialect,
    fmt(t.rows),
    s(t.rawUpdateSeconds),
    s(t.inPlaceSetSeconds),
    s(t.snapshotSeconds),
    x(t.ratioToRaw),
    fmt(t.readOnlyWindowMs),
    fmt(t.swapMs),
    `${fmt(t.reader.longestWaitMs, 1)} / ${fmt(t.reader.longestWaitAcrossSwapMs, 1)}`,
    t.reader.errors,
  ])
  const header = [
    'db',
    'rows',
    'raw UPDATE s',
    'in-place set s',
    'snapshot s',
    'snapshot ÷ raw',
    'read-only ms',
    'swap ms',
    'reader max wait ms (all / at swap)',
    'reader errors',
  ]
  return [`### Snapshot mode\n\n${table(header, rows)}`]
}

/** Written whole or not at all: a crash mid-write leaves the previous results in place. */
export async function writeResults(r: BenchResults, file: string): Promise<void> {
  await writeFile(`${file}.tmp`, `${JSON.stringify(r, null, 2)}\n`)
  await rename(`${file}.tmp`, file)
}
