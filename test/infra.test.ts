// Checks the test infrastructure itself, so a broken helper fails here and not as noise elsewhere.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { dialects, fresh, type FreshDatabase, freshPostgres } from './helpers/databases.ts'

for (const dialect of dialects) {
  describe(`a fresh ${dialect} database`, () => {
    const dbs: FreshDatabase[] = []
    after(() => Promise.all(dbs.map((db) => db.drop())))

    it('accepts a table create, insert and select round trip', async () => {
      const db = await fresh(dialect)
      dbs.push(db)
      await db.knex.schema.createTable('widgets', (t) => {
        t.increments('id')
        t.string('name').notNullable()
      })
      await db.knex('widgets').insert([{ name: 'bolt' }, { name: 'nut' }])
      const rows = await db.knex('widgets').select('id', 'name').orderBy('id')
      assert.deepEqual(rows, [
        { id: 1, name: 'bolt' },
        { id: 2, name: 'nut' },
      ])
    })
  })
}

describe('two fresh postgres databases', () => {
  it('do not see each other’s tables', async () => {
    const [a, b] = await Promise.all([freshPostgres(), freshPostgres()])
    try {
      assert.notEqual(a.url, b.url)
      await a.knex.schema.createTable('only_in_a', (t) => t.integer('x'))
      assert.equal(await a.knex.schema.hasTable('only_in_a'), true)
      assert.equal(await b.knex.schema.hasTable('only_in_a'), false)
    } finally {
      await Promise.all([a.drop(), b.drop()])
    }
  })

  it('are gone after drop()', async () => {
    const db = await freshPostgres()
    const name = new URL(db.url).pathname.slice(1)
    await db.drop()
    const probe = await freshPostgres()
    try {
      const { rows } = await probe.knex.raw('SELECT 1 FROM pg_database WHERE datname = ?', [name])
      assert.equal(rows.length, 0)
    } finally {
      await probe.drop()
    }
  })
})
