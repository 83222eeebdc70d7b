// SQLite's transform write-back runs UPDATE … FROM (VALUES …) statements of 100 rows, prepared once
// per connection, and the rows left over one by one: every row lands, whatever statement carried it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { RowChange } from '../lib/dialects/dialect.ts'
import { sqliteDialect } from '../lib/dialects/sqlite/index.ts'
import { fresh } from './helpers/databases.ts'

const IDS = 130 // per tenant: one statement of 100 rows and 30 single rows for each set of columns

function changes(round: number): RowChange[] {
  const out: RowChange[] = []
  for (const tenant of [1, 2])
    for (let id = 1; id <= IDS; id++) {
      const a = `r${round} ${tenant}/${id}`
      // Odd ids change two columns: a second group, with statements of its own.
      out.push({ key: [tenant, id], changes: id % 2 ? { a, b: round * 10_000 + tenant * 1000 + id } : { a } })
    }
  return out
}

describe('SQLite transform write-back', () => {
  it('writes every row, by statements of 100 and one by one, for each set of changed columns, again on the same connection', async () => {
    const db = await fresh('sqlite')
    try {
      await db.knex.schema.createTable('pairs', (t) => {
        t.integer('tenant')
        t.integer('id')
        t.text('a')
        t.integer('b')
        t.primary(['tenant', 'id'])
      })
      const rows = [1, 2].flatMap((tenant) => Array.from({ length: IDS }, (_, i) => ({ tenant, id: i + 1, a: 'old', b: 0 })))
      await db.knex.batchInsert('pairs', rows, 100)
      // The second round reuses the statements the first prepared.
      for (const round of [1, 2]) {
        const written = await db.knex.transaction((trx) => sqliteDialect.writeBack(trx, 'pairs', ['tenant', 'id'], changes(round)))
        assert.equal(written, 2 * IDS)
        const got: { tenant: number; id: number; a: string; b: number }[] = await db.knex('pairs').orderBy(['tenant', 'id'])
        for (const row of got) {
          assert.equal(row.a, `r${round} ${row.tenant}/${row.id}`)
          // Even ids keep the b of the last round that changed it (none: 0).
          assert.equal(row.b, row.id % 2 ? round * 10_000 + row.tenant * 1000 + row.id : 0)
        }
      }
    } finally {
      await db.drop()
    }
  })
})
