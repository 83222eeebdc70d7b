// Scenario 3b: memory on wide rows. A `docs` table whose rows carry a ~1 MB body, evolved by a
// transform that touches only the short `title`: peak RSS of the real CLI with the column
// declared (`columns: ['title']`), the same run on narrow rows (a 100-byte body), and the wide
// run with no `columns` (every column read; only the byte cap, maxBatchBytes, bounds it).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { type BenchDatabase, withSql } from '../databases.ts'
import { fmt, log } from '../progress.ts'
import type { Sql } from '../sql.ts'
import { measureCli } from './memory.ts'
import { TRACKING } from '../users-table.ts'

const mb = (kib: number) => (kib * 1024) / 1e6

const migration = (columns: boolean) => `// written by bench/scenarios/wide-rows.ts
export default {
  description: 'Lower-case every title',
  table: 'docs',${columns ? "\n  columns: ['title']," : ''}
  transform: (row) => ({ title: row.title.toLowerCase() }),
}
`

export interface WideRun {
  label: string
  bodyBytes: number
  columnsDeclared: boolean
  peakRssMb: number
  seconds: number
}

export interface WideRowsResult {
  dialect: string
  rows: number
  runs: WideRun[]
  /** Peak RSS wide ÷ narrow, both with `columns` declared. */
  ratio: number
}

async function createDocs(sql: Sql, rows: number, bodyBytes: number): Promise<void> {
  for (const t of ['docs', ...TRACKING]) {
    await sql.run(`DROP TABLE IF EXISTS ${t}`)
  }
  await sql.run('CREATE TABLE docs (id integer PRIMARY KEY, title text NOT NULL, body text NOT NULL)')
  // A repeated pattern: PostgreSQL compresses it (as it would a real document's boilerplate); SQLite stores it whole.
  const chunk = 500
  for (let from = 1; from <= rows; from += chunk) {
    const to = Math.min(rows, from + chunk - 1)
    if (sql.dialect === 'postgres') {
      await sql.run(`INSERT INTO docs SELECT g, 'Title ' || g, repeat(md5(g::text), $1) FROM generate_series($2::int, $3::int) AS g`, [
        Math.ceil(bodyBytes / 32),
        from,
        to,
      ])
    } else {
      await sql.run(
        `WITH RECURSIVE g(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM g WHERE i < ?)
         INSERT INTO docs SELECT i, 'Title ' || i, hex(zeroblob(?)) FROM g`,
        [from, to, Math.ceil(bodyBytes / 2)],
      )
    }
  }
}

export async function wideRows(db: BenchDatabase, rows: number): Promise<WideRowsResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evk-bench-wide-'))
  const runs: WideRun[] = []
  try {
    const cases = [
      { label: 'narrow rows, columns declared', bodyBytes: 100, columnsDeclared: true },
      { label: 'wide rows, columns declared', bodyBytes: 1_000_000, columnsDeclared: true },
      { label: 'wide rows, every column read (byte cap only)', bodyBytes: 1_000_000, columnsDeclared: false },
    ]
    for (const c of cases) {
      log(`wide/${db.dialect}: ${c.label}: building ${fmt(rows)} rows`)
      await withSql(db, (sql) => createDocs(sql, rows, c.bodyBytes))
      const migrations = path.join(dir, c.columnsDeclared ? 'declared' : 'all')
      await rm(migrations, { recursive: true, force: true })
      await mkdir(migrations, { recursive: true })
      await writeFile(path.join(migrations, '20260101000000_lower-titles.mjs'), migration(c.columnsDeclared))
      const m = await measureCli(['run', '--db', db.url, '--dir', migrations])
      const left = await withSql(db, (sql) => sql.rows<{ n: unknown }>('SELECT count(*) AS n FROM docs WHERE title <> lower(title)'))
      if (Number(left[0]?.n) !== 0) throw new Error(`wide/${db.dialect}: ${String(left[0]?.n)} titles left after evolve run`)
      runs.push({ ...c, peakRssMb: mb(m.peakKb), seconds: m.seconds })
      log(`wide/${db.dialect}: ${c.label}: peak RSS ${fmt(mb(m.peakKb), 1)} MB, ${fmt(m.seconds, 1)} s`)
    }
    await withSql(db, (sql) => sql.run('DROP TABLE IF EXISTS docs'))
    return { dialect: db.dialect, rows, runs, ratio: runs[1]!.peakRssMb / runs[0]!.peakRssMb }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
