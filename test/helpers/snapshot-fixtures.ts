// A small shop for snapshot-mode tests: users with every kind of dependent object the swap
// must carry (a foreign key in, a view, a trigger, an index, a sequence), and readers for
// what the tests look at afterwards.
import path from 'node:path'
import type { Knex } from 'knex'
import { type Dialect, type FreshDatabase, fresh } from './databases.ts'
import { type Workspace, workspace } from './files.ts'
import { migrationSource } from './migration-sources.ts'
import { addTouchCounter, insertChunked, oldEmail } from './tables.ts'

/**
 * A fresh database and a migrations workspace for `evolve run` processes of a snapshot migration
 * that can be held at a step: they wait while `holdFile` names it (lib/core/snapshot/hold.ts), and
 * copy in chunks of 100 rows, so a test can act in the middle of the copy.
 */
export async function heldSnapshotRun(
  d: Dialect,
): Promise<{ db: FreshDatabase; ws: Workspace; holdFile: string; env: Record<string, string>; args: string[] }> {
  const db = await fresh(d)
  const ws = await workspace()
  const holdFile = path.join(path.dirname(ws.dir), 'hold')
  const env = { EVOLVE_SNAPSHOT_HOLD_FILE: holdFile, EVOLVE_SNAPSHOT_COPY_CHUNK: '100' }
  return { db, ws, holdFile, env, args: ['run', '--db', db.url, '--dir', ws.dir] }
}

/** users (id serial key, email unique, name indexed, touches counted by a trigger), orders → users, view user_emails. */
export async function createShop(db: FreshDatabase, count: number): Promise<void> {
  const { knex } = db
  await knex.schema.createTable('users', (t) => {
    t.increments('id')
    t.string('email', 255).notNullable().unique()
    t.string('name', 255).notNullable().defaultTo('nobody').index()
    t.integer('touches').notNullable().defaultTo(0)
    t.check('length(email) > 0', [], 'users_email_not_empty')
  })
  await knex.schema.createTable('orders', (t) => {
    t.increments('id')
    t.integer('user_id').notNullable().references('id').inTable('users')
  })
  await knex.raw('CREATE VIEW user_emails AS SELECT id, email FROM users')
  await addTouchCounter(db, 'users')
  if (db.dialect === 'postgres') {
    await knex.raw("COMMENT ON TABLE users IS 'the shop''s users'")
    await knex.raw('GRANT SELECT ON users TO PUBLIC')
  }
  const rows = Array.from({ length: count }, (_, i) => ({ id: i + 1, email: oldEmail(i + 1), name: `name ${i + 1}` }))
  await insertChunked(knex, 'users', rows, 500)
  if (db.dialect === 'postgres') await knex.raw("SELECT setval('users_id_seq', ?)", [count])
  await insertChunked(
    knex,
    'orders',
    Array.from({ length: Math.min(count, 50) }, (_, i) => ({ user_id: i + 1 })),
  )
}

/** Lower-cases every e-mail, in snapshot mode. */
export function snapshotMigration(extra = '', prelude = ''): string {
  return migrationSource(
    `{
      mode: 'snapshot',
      table: 'users',
      pending: (q) => q.whereRaw('email <> lower(email)'),
      set: { email: (k) => k.raw('lower(email)') },
      ${extra}
    }`,
    prelude,
  )
}

export async function tableNames(db: FreshDatabase): Promise<string[]> {
  if (db.dialect === 'postgres') {
    const { rows } = await db.knex.raw(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'evolve%' ORDER BY 1",
    )
    return rows.map((r: { name: string }) => r.name)
  }
  const rows: { name: string }[] = await db.knex.raw(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'evolve%' AND name NOT LIKE 'sqlite%' ORDER BY 1",
  )
  return rows.map((r) => r.name)
}

export async function allRows(knex: Knex, table: string): Promise<Record<string, unknown>[]> {
  return knex(table).select('*').orderBy('id')
}
