// Scenario 1: the same change (lower-case every e-mail) seven ways, each on a freshly built table.
import { type BenchDatabase, withKnex, withSql } from '../databases.ts'
import { type EvolveMode, type EvolveOutcome, runEvolve } from '../methods/evolvekit.ts'
import { batchedTransformLoop, keysetBatchLoop, perRowLoop, rawUpdate } from '../methods/hand-written.ts'
import { fmt, log, timed } from '../progress.ts'
import { countPending, createUsers } from '../users-table.ts'

/** The per-row loop is timed on the first rows only and extrapolated: 1M single-row commits take long. */
export const PER_ROW_SAMPLE = 20_000

export type MethodId = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'h'

export const METHOD_LABELS: Record<MethodId, string> = {
  a: 'raw UPDATE (one statement)',
  b: 'hand-written per-row loop',
  c: 'hand-written keyset batches of 1000',
  d: 'evolvekit set',
  e: "evolvekit transform (columns: ['email'])",
  f: 'evolvekit up (UPDATE … WHERE id IN)',
  g: 'evolvekit transform, every column read (no columns)',
  h: 'hand-written batched transform, no pause (SQLite)',
}

export interface MethodResult {
  id: MethodId
  label: string
  /** Rows actually evolved in the timed step. */
  rows: number
  seconds: number
  rowsPerSecond: number
  /** rows/s of this method ÷ rows/s of (a), same run. */
  ratioToRaw: number
  /** Set when only a sample was timed and the rate extrapolated to the whole table. */
  sampled: { rows: number; of: number; extrapolatedSeconds: number } | null
  /** Rows still matching `email <> lower(email)` afterwards (expected: 0, or what the sample left). */
  pendingAfter: number
  evolve: EvolveOutcome | null
}

export interface ThroughputResult {
  dialect: BenchDatabase['dialect']
  rows: number
  methods: MethodResult[]
}

const EVOLVE_MODES: Partial<Record<MethodId, EvolveMode>> = { d: 'set', e: 'transform', f: 'up', g: 'transform-all' }

async function timeMethod(db: BenchDatabase, id: MethodId, rows: number) {
  const mode = EVOLVE_MODES[id]
  if (mode) {
    return withKnex(db, async (knex) => {
      const outcome = await runEvolve(knex, mode)
      return { rows: outcome.rows, seconds: outcome.seconds, evolve: outcome }
    })
  }
  return withSql(db, async (sql) => {
    const sample = Math.min(rows, PER_ROW_SAMPLE)
    const loops = { a: () => rawUpdate(sql), b: () => perRowLoop(sql, sample), h: () => batchedTransformLoop(sql) }
    const run = loops[id as keyof typeof loops] ?? (() => keysetBatchLoop(sql))
    const { value, seconds } = await timed(run)
    return { rows: value, seconds, evolve: null }
  })
}

export async function throughput(
  db: BenchDatabase,
  rows: number,
  // (h), the ceiling of a JavaScript transform, is measured where statements are function calls.
  ids: MethodId[] = db.dialect === 'sqlite' ? ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] : ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
): Promise<ThroughputResult> {
  const methods: MethodResult[] = []
  for (const id of ids) {
    await withSql(db, (sql) => createUsers(sql, rows))
    const measured = await timeMethod(db, id, rows)
    const pendingAfter = await withSql(db, countPending)
    const rowsPerSecond = measured.rows / measured.seconds
    const sampled = measured.rows < rows ? { rows: measured.rows, of: rows, extrapolatedSeconds: rows / rowsPerSecond } : null
    methods.push({ id, label: METHOD_LABELS[id], ...measured, rowsPerSecond, ratioToRaw: NaN, sampled, pendingAfter })
    const note = sampled ? ` (sample of ${fmt(sampled.rows)}; whole table ≈ ${fmt(sampled.extrapolatedSeconds, 1)} s)` : ''
    log(
      `throughput/${db.dialect}: (${id}) ${METHOD_LABELS[id]}: ${fmt(measured.rows)} rows in ${fmt(measured.seconds, 2)} s = ${fmt(rowsPerSecond)} rows/s${note}`,
    )
  }
  const raw = methods.find((m) => m.id === 'a')
  for (const m of methods) m.ratioToRaw = raw ? m.rowsPerSecond / raw.rowsPerSecond : NaN
  return { dialect: db.dialect, rows, methods }
}
