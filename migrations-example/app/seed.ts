import type { Knex } from 'knex'
import { commentRow, documentRow, userRow } from './shapes.ts'

export interface SeedCounts {
  users: number
  documents: number
  comments: number
}

/** How many rows of each table `--rows N` means: N users, N documents, 2N comments. */
export function seedCounts(rows: number): SeedCounts {
  return { users: rows, documents: rows, comments: 2 * rows }
}

/**
 * Fills the tables the way years of app v1 left them: profiles as JSON blobs, free-form
 * statuses, comment bodies as typed, no comment counts, no search catalog. Deterministic, so runs compare.
 */
export async function seed(knex: Knex, counts: SeedCounts, onProgress: (table: string, n: number) => void = () => {}): Promise<void> {
  await insertAll(knex, 'users', counts.users, (i) => userRow(i, 'v1'), onProgress)
  await insertAll(knex, 'documents', counts.documents, (i) => documentRow(i, 1 + ((i * 31) % counts.users), 'v1'), onProgress)
  await insertAll(
    knex,
    'comments',
    counts.comments,
    (i) => commentRow(i, 1 + ((i * 7919) % counts.documents), 1 + ((i * 13) % counts.users), 'v1'),
    onProgress,
  )
}

const CHUNK = 1000

async function insertAll(knex: Knex, table: string, count: number, row: (i: number) => object, onProgress: (t: string, n: number) => void) {
  for (let start = 0; start < count; start += CHUNK) {
    const rows = Array.from({ length: Math.min(CHUNK, count - start) }, (_, j) => row(start + j))
    // One transaction per chunk: SQLite commits are the slow part of a seed.
    await knex.transaction((trx) => trx.batchInsert(table, rows, 250))
  }
  onProgress(table, count)
}
