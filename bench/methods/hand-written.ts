// The baselines: what a person writes without a migration tool, on one raw driver connection.
import type { Sql } from '../sql.ts'

/** (a) One statement over the whole table: the fastest possible, and one huge transaction. */
export async function rawUpdate(sql: Sql): Promise<number> {
  return sql.run('UPDATE users SET email = lower(email)')
}

/** (b) Read a page by keyset, then one autocommitted UPDATE per row. Stops after `limit` rows. */
export async function perRowLoop(sql: Sql, limit: number): Promise<number> {
  let last = 0
  let done = 0
  while (done < limit) {
    const page = await sql.rows<{ id: number; email: string }>(
      'SELECT id, email FROM users WHERE id > ? AND email <> lower(email) ORDER BY id LIMIT ?',
      [last, Math.min(1000, limit - done)],
    )
    if (page.length === 0) break
    for (const row of page) await sql.run('UPDATE users SET email = ? WHERE id = ?', [row.email.toLowerCase(), row.id])
    done += page.length
    last = page[page.length - 1]!.id
  }
  return done
}

/** (c) Keyset batches: find the batch's last key, then one autocommitted UPDATE per `size` keys. */
export async function keysetBatchLoop(sql: Sql, size = 1000): Promise<number> {
  let last = 0
  let done = 0
  for (;;) {
    const [edge] = await sql.rows<{ id: number }>('SELECT id FROM users WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?', [last, size - 1])
    const hi = edge?.id ?? (await sql.rows<{ id: number | null }>('SELECT max(id) AS id FROM users WHERE id > ?', [last]))[0]?.id
    if (hi === null || hi === undefined) return done
    done += await sql.run('UPDATE users SET email = lower(email) WHERE id > ? AND id <= ? AND email <> lower(email)', [last, hi])
    last = hi
  }
}

/**
 * (h) SQLite only: the ceiling of any transform that calls JavaScript per row. Keyset pages of
 * 20,000 rows, each read, lower-cased in JavaScript and written back by UPDATE … FROM (VALUES …)
 * of 100 rows (one prepared statement, as evolvekit writes) in one transaction; no pause for the
 * app, no count, no bookkeeping. What evolvekit's (e) adds on top is what it pays for those.
 */
export async function batchedTransformLoop(sql: Sql, size = 20_000): Promise<number> {
  const per = 100
  const tuples = (n: number) => new Array(n).fill('(?, ?)').join(', ')
  const update = (n: number) => `UPDATE users SET email = v.column2 FROM (VALUES ${tuples(n)}) AS v WHERE users.id = v.column1`
  let last = 0
  let done = 0
  for (;;) {
    await sql.run('BEGIN IMMEDIATE')
    const page = await sql.rows<{ id: number; email: string }>(
      'SELECT id, email FROM users WHERE id > ? AND email <> lower(email) ORDER BY id LIMIT ?',
      [last, size],
    )
    for (let start = 0; start < page.length; start += per) {
      const chunk = page.slice(start, start + per)
      done += await sql.run(
        update(chunk.length),
        chunk.flatMap((row) => [row.id, row.email.toLowerCase()]),
      )
    }
    await sql.run('COMMIT')
    if (page.length < size) return done
    last = page[page.length - 1]!.id
  }
}
