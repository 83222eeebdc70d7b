// What a migration reads and hands back: a column left out of `columns` cannot be read by
// mistake (lib/core/row-guard.ts), and a column set to `undefined` is left as it is.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { parseMigration } from '../lib/config/migration-schema.ts'
import { type AnyRow, type MigrationDefinition, Runner, defineMigration } from '../lib/index.ts'
import { dialects, runDefinition, runnerKnex, type FreshDatabase, withDb } from './helpers/databases.ts'
import { failureRows, insertChunked } from './helpers/fixtures.ts'

const ROWS = 6

async function createPeople(knex: Knex): Promise<void> {
  await knex.schema.createTable('people', (t) => {
    t.integer('id').primary()
    t.string('first').notNullable()
    t.string('last').nullable()
    t.string('full_name').nullable()
  })
  const rows = Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, first: `Ada${i + 1}`, last: `Lovelace${i + 1}`, full_name: null }))
  await insertChunked(knex, 'people', rows)
}

const run = async (db: FreshDatabase, name: string, definition: MigrationDefinition) => (await runDefinition(db, name, definition))?.state

const people = (db: FreshDatabase) => db.knex('people').orderBy('id').select('id', 'first', 'last', 'full_name')

describe('a migration and the columns it declares', () => {
  for (const dialect of dialects) {
    it(`on ${dialect}: a transform reading a column its \`columns\` leave out writes nothing and records each row as failed, naming the column and the fix`, () =>
      withDb(dialect, async (db) => {
        await createPeople(db.knex)
        const state = await run(
          db,
          'full_names',
          defineMigration({
            table: 'people',
            columns: ['first'],
            pending: (q) => q.whereNull('full_name'),
            transform: (row) => ({ full_name: `${row.first} ${row.last}` }),
          }),
        )
        assert.equal(state, 'failed')
        assert.ok(
          (await people(db)).every((p) => p.full_name === null),
          'no "Ada1 undefined" was written',
        )
        const failures = await failureRows(db.knex, 'full_names')
        assert.equal(failures.length, ROWS)
        assert.match(failures[0]!.error, /read column "last" of "people", which is not in its `columns` \(first\): add "last" to `columns`/)
      }))

    it(`on ${dialect}: a transform returning a column the table does not have fails the run at its first batch, naming the column, with no row recorded as failed`, () =>
      withDb(dialect, async (db) => {
        await createPeople(db.knex)
        const conn = runnerKnex(db)
        try {
          const migration = parseMigration('typo', 'test:typo', {
            table: 'people',
            batchSize: 2,
            columns: ['first'],
            transform: (row: AnyRow) => ({ ful_name: String(row.first) }),
          })
          const [result] = await new Runner({ knex: conn, migrations: [migration] }).run()
          assert.equal(result?.state, 'failed')
          assert.match(
            String(result?.lastError),
            /^transform of typo returned column "ful_name", which "people" does not have \(columns: id, first, last, full_name\): fix the migration, then `evolve run typo`$/,
          )
        } finally {
          await conn.destroy()
        }
        // Not split down to single rows and recorded one by one: one batch tried, nothing failed or written.
        assert.deepEqual(await failureRows(db.knex, 'typo'), [])
        const batches = await db.knex('evolve_batches').where({ run_name: 'typo' }).select('state')
        assert.ok(!batches.some((b) => b.state === 'split' || b.state === 'failed'), JSON.stringify(batches))
        assert.ok((await people(db)).every((p) => p.full_name === null))
      }))

    it(`on ${dialect}: an up reading a column its \`columns\` leave out fails its rows the same way`, () =>
      withDb(dialect, async (db) => {
        await createPeople(db.knex)
        const state = await run(
          db,
          'up_names',
          defineMigration({
            table: 'people',
            columns: ['first'],
            pending: (q) => q.whereNull('full_name'),
            up: async (rows, { trx }) => {
              for (const row of rows)
                await trx('people')
                  .where('id', row.id)
                  .update({ full_name: `${row.first} ${row.last}` })
            },
          }),
        )
        assert.equal(state, 'failed')
        assert.ok((await people(db)).every((p) => p.full_name === null))
        assert.match((await failureRows(db.knex, 'up_names'))[0]!.error, /read column "last" of "people"/)
      }))

    it(`on ${dialect}: declared columns, the key and a spread row read as usual, and a column set to undefined is left as it is, not written as NULL`, () =>
      withDb(dialect, async (db) => {
        await createPeople(db.knex)
        const state = await run(
          db,
          'shout',
          defineMigration({
            table: 'people',
            columns: ['first', 'last'],
            pending: (q) => q.whereNull('full_name'),
            transform: (row) => ({ ...row, first: row.first.toUpperCase(), last: undefined, full_name: `${row.id}:${row.last}` }),
          }),
        )
        assert.equal(state, 'done')
        assert.deepEqual(
          (await people(db)).map((p) => [Number(p.id), p.first, p.last, p.full_name]),
          Array.from({ length: ROWS }, (_, i) => [i + 1, `ADA${i + 1}`, `Lovelace${i + 1}`, `${i + 1}:Lovelace${i + 1}`]),
        )
      }))
  }
})
