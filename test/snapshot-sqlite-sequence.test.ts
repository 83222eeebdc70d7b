// SQLite's AUTOINCREMENT counter (sqlite_sequence) after a snapshot swap and its revert: carried
// past every key the outgoing table handed out, and still an INTEGER, as SQLite itself writes it
// (a REAL 300.0 reads back as a float, and tools that compare it to max(id) by type see a mismatch).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { openEvolve } from '../lib/index.ts'
import { runnerKnex, withDb } from './helpers/databases.ts'
import { createShop, snapshotMigration, writeFiles } from './helpers/fixtures.ts'

const ROWS = 300
const NAME = '001_lowercase'

async function sequenceOf(knex: Knex, table: string): Promise<{ seq: unknown; type: string } | undefined> {
  const [row] = (await knex.raw('SELECT seq, typeof(seq) AS type FROM sqlite_sequence WHERE name = ?', [table])) as {
    seq: unknown
    type: string
  }[]
  return row
}

describe('snapshot mode on sqlite', () => {
  it("keeps an AUTOINCREMENT table's sqlite_sequence an integer past every key handed out, through the swap and the revert", () =>
    withDb('sqlite', async (db) => {
      await createShop(db, ROWS)
      // The last key was handed out and its row deleted: the copy's own counter stops one short.
      await db.knex('users').where({ id: ROWS }).delete()
      const dir = await writeFiles({ [`${NAME}.ts`]: snapshotMigration('batchSize: 50,') })
      const knex = runnerKnex(db)
      const evolve = await openEvolve({ knex, migrations: dir })
      try {
        const [result] = await (await evolve.run()).done
        assert.equal(result?.state, 'done', JSON.stringify(result))
        assert.deepEqual(await sequenceOf(db.knex, 'users'), { seq: ROWS, type: 'integer' }, 'after the swap')

        await evolve.revert(NAME, { force: true })
        assert.deepEqual(await sequenceOf(db.knex, 'users'), { seq: ROWS, type: 'integer' }, 'after the revert')
        const types = (await db.knex.raw('SELECT DISTINCT typeof(seq) AS type FROM sqlite_sequence')) as { type: string }[]
        assert.deepEqual(
          types.map((t) => t.type),
          ['integer'],
          'every counter an integer',
        )
      } finally {
        await evolve.close()
        await knex.destroy()
      }
    }))
})
