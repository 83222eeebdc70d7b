import type { Knex } from 'knex'
import { isPostgresUrl } from './connect.ts'

/** The app's tables, children first: the order to drop them in. */
export const APP_TABLES = ['demo_evolutions', 'search_entries', 'comments', 'documents', 'users'] as const

/**
 * The community site's schema, already expanded for version 2 of the app: the columns v2
 * writes (display_name, city, country, comment_count, the search catalog) exist, and v1
 * ignores them. `profile_json` is v1's shape; it is dropped once the data is evolved.
 */
export async function createSchema(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id').primary()
    t.string('email').notNullable()
    t.string('first_name').notNullable()
    t.string('last_name').notNullable()
    t.text('bio')
    t.text('profile_json') // v1: { city, country, website } as one blob
    t.string('display_name') // v2: backfilled by a `set` migration
    t.string('city') // v2: split out of profile_json by an `up` migration
    t.string('country')
  })
  await knex.schema.createTable('documents', (t) => {
    t.increments('id').primary()
    t.integer('author_id').notNullable().references('id').inTable('users')
    t.string('title').notNullable()
    t.text('body').notNullable()
    t.string('status').notNullable() // v1 wrote free-form values ('Published ', 'DRAFT', 'live'…)
    t.integer('comment_count').notNullable().defaultTo(0) // v2: denormalised, maintained by v2 on every comment
    t.string('slug').unique() // v2: the document's permanent URL name, handed out by a `mode: 'readonly'` migration
  })
  await knex.schema.createTable('comments', (t) => {
    t.increments('id').primary()
    t.integer('document_id').notNullable().references('id').inTable('documents')
    t.integer('author_id').notNullable().references('id').inTable('users')
    t.text('body').notNullable()
    t.index(['document_id'])
  })
  // v2's search catalog: one entry per document, computed from it (see catalog.ts).
  await knex.schema.createTable('search_entries', (t) => {
    t.integer('document_id').primary().references('id').inTable('documents')
    t.string('title').notNullable()
    t.text('terms').notNullable()
  })
  // Not part of the app: every `up` migration of the demo records here, in its batch
  // transaction, each row it evolved, so the demo can prove no row was evolved twice.
  await knex.schema.createTable('demo_evolutions', (t) => {
    t.increments('id').primary()
    t.string('migration').notNullable()
    t.integer('row_key').notNullable()
    t.integer('batch').notNullable() // evolvekit's batch id: a batch killed half-way must show up later, committed by another runner
    t.index(['migration', 'row_key'])
  })
}

/**
 * Leaves an empty database: the app's tables and evolvekit's tracking tables (`evolve_*`)
 * of an earlier demo run are dropped. A SQLite file is simply made anew by the demo.
 */
export async function resetDatabase(knex: Knex, url: string): Promise<void> {
  // A snapshot migration's backup (`comments__evolve_old_1`) or copy from an earlier demo run
  // goes first: it points at the app's tables.
  if (isPostgresUrl(url)) {
    const { rows } = await knex.raw<{ rows: { tablename: string }[] }>(
      "select tablename from pg_tables where schemaname = current_schema() and tablename like '%\\_\\_evolve\\_%'",
    )
    for (const { tablename } of rows) await knex.raw('drop table if exists ?? cascade', [tablename])
  }
  for (const table of APP_TABLES) await knex.schema.dropTableIfExists(table)
  if (!isPostgresUrl(url)) return
  const { rows } = await knex.raw<{ rows: { tablename: string }[] }>(
    "select tablename from pg_tables where schemaname = current_schema() and tablename like 'evolve\\_%'",
  )
  for (const { tablename } of rows) await knex.schema.dropTableIfExists(tablename)
}

/**
 * The "contract" step, once every row is in v2's shape and v2 is deployed: v1's JSON blob
 * goes. `ALTER TABLE … DROP COLUMN` works on PostgreSQL and SQLite ≥ 3.35 without copying
 * the table under the app (knex's SQLite dropColumn would rebuild it).
 */
export async function dropProfileJson(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE users DROP COLUMN profile_json')
}
