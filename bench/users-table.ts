// The table every scenario evolves: `users`, id serial primary key, a mixed-case email (every row
// needs lower-casing) and a few other columns. Rebuilt from scratch before each timed step, so every
// method starts from the same state: no dead tuples, vacuumed, analysed, checkpointed.
import type { Sql } from './sql.ts'

/** evolvekit's tracking tables: dropped too, so every evolvekit run starts from nothing. */
export const TRACKING = [
  'evolve_meta',
  'evolve_runs',
  'evolve_batches',
  'evolve_failures',
  'evolve_workers',
  'evolve_control',
  'evolve_snapshots',
  'evolve_read_only',
  'evolve_read_only_audit',
  'evolve_read_only_bypass',
]

// Deterministic and identical on both databases: `User42.0A1B2C3D@Example.COM`.
const POSTGRES_SEED = `
  INSERT INTO users (id, email, name, status, score, created_at)
  SELECT g,
         'User' || g || '.' || lpad(upper(to_hex((g * 2654435761) % 4294967296)), 8, '0') || '@Example.COM',
         'User number ' || g,
         (ARRAY['active', 'idle', 'blocked'])[1 + g % 3],
         (g * 7919) % 1000,
         timestamptz '2026-01-01' - g * interval '1 minute'
    FROM generate_series(1::bigint, ?::bigint) AS g`

const SQLITE_SEED = `
  WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?)
  INSERT INTO users (id, email, name, status, score, created_at)
  SELECT i,
         'User' || i || '.' || printf('%08X', (i * 2654435761) % 4294967296) || '@Example.COM',
         'User number ' || i,
         CASE i % 3 WHEN 0 THEN 'active' WHEN 1 THEN 'idle' ELSE 'blocked' END,
         (i * 7919) % 1000,
         datetime('2026-01-01', '-' || i || ' minutes')
    FROM g`

/** Drops and recreates `users` with `rows` rows, all of them pending (mixed-case email). */
export async function createUsers(sql: Sql, rows: number): Promise<void> {
  if (sql.dialect === 'postgres') {
    await sql.run(`DROP TABLE IF EXISTS users, ${TRACKING.join(', ')}`)
    await sql.run(`CREATE TABLE users (
      id serial, email text NOT NULL, name text NOT NULL, status text NOT NULL,
      score integer NOT NULL, created_at timestamptz NOT NULL)`)
    await sql.run(POSTGRES_SEED, [rows])
    await sql.run('ALTER TABLE users ADD PRIMARY KEY (id)') // one index build instead of 1M inserts into it
    await sql.run(`SELECT setval('users_id_seq', ?)`, [rows])
    await sql.run('VACUUM ANALYZE users')
    await sql.run('CHECKPOINT')
  } else {
    for (const table of ['users', ...TRACKING]) await sql.run(`DROP TABLE IF EXISTS ${table}`)
    await sql.run(`CREATE TABLE users (
      id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
      score INTEGER NOT NULL, created_at TEXT NOT NULL)`)
    await sql.run(SQLITE_SEED, [rows])
    await sql.run('VACUUM')
    await sql.rows('PRAGMA wal_checkpoint(TRUNCATE)')
  }
}

/** Rows that still need the migration. */
export async function countPending(sql: Sql): Promise<number> {
  const [row] = await sql.rows<{ n: number | string }>('SELECT count(*) AS n FROM users WHERE email <> lower(email)')
  return Number(row!.n)
}
