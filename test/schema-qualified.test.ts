// `table: 'schema.table'` on PostgreSQL: validated and run against the named schema, not the
// search_path (a same-named table in public stays untouched).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { output, runCli } from './helpers/cli.ts'
import { withDb } from './helpers/databases.ts'
import { insertChunked, migrationSource, runRow, writeFiles } from './helpers/fixtures.ts'

describe('postgres', () => {
  it('a schema-qualified table is validated and every row evolved, in transform and set mode', () =>
    withDb('postgres', async (db) => {
      const count = 40
      await db.knex.raw('CREATE SCHEMA app')
      for (const schema of ['app', 'public']) {
        await db.knex.schema.withSchema(schema).createTable('items', (t) => {
          t.integer('id').primary()
          t.string('email', 255).notNullable()
          t.string('name', 255).notNullable()
        })
        const rows = Array.from({ length: count }, (_, i) => ({ id: i + 1, email: `User${i + 1}@Example.COM`, name: `name ${i + 1}` }))
        await insertChunked(db.knex, `${schema}.items`, rows)
      }
      const decoy = await db.knex('items').orderBy('id')
      const dir = await writeFiles({
        '001_lower.ts': migrationSource(`{
          table: 'app.items',
          pending: (q) => q.whereRaw('email <> lower(email)'),
          transform: (row) => ({ email: row.email.toLowerCase() }),
        }`),
        '002_upper.ts': migrationSource(`{ table: 'app.items', set: { name: (k) => k.raw('upper(name)') } }`),
      })

      const result = await runCli(['run', '--db', db.url, '--dir', dir, '--batch-size', '7'])
      assert.equal(result.code, 0, output(result))

      const rows = await db.knex('items').withSchema('app').orderBy('id')
      assert.equal(rows.length, count)
      for (const row of rows) {
        assert.equal(row.email, `user${row.id}@example.com`)
        assert.equal(row.name, `NAME ${row.id}`)
      }
      assert.equal((await runRow(db.knex, '001_lower'))?.state, 'done')
      assert.equal((await runRow(db.knex, '002_upper'))?.state, 'done')
      assert.deepEqual(await db.knex('items').orderBy('id'), decoy, 'public.items is untouched')
    }))
})
