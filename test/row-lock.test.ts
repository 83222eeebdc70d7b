// A PostgreSQL batch locks its rows FOR NO KEY UPDATE, the lock its own UPDATE takes: the app can
// still insert rows whose foreign key points at a row the batch holds (an insert takes FOR KEY SHARE
// on the referenced row, which FOR UPDATE would block until the batch commits).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { Runner, loadMigrations } from '../lib/index.ts'
import { runnerKnex, withDb } from './helpers/databases.ts'
import { migrationSource, writeFiles } from './helpers/fixtures.ts'
import { waitUntil } from './helpers/wait.ts'

type Probe = (row: { id: number; email: string }) => Promise<{ email: string }>
const global = globalThis as { evolveRowLockProbe?: Probe }

describe('PostgreSQL row locks of a transform batch', () => {
  it("do not block the app's insert of a child row referencing a locked row", () =>
    withDb('postgres', async (db) => {
      await db.knex.raw('CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL)')
      await db.knex.raw('CREATE TABLE orders (id serial PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id))')
      await db.knex('users').insert([1, 2, 3, 4].map((id) => ({ id, email: `User${id}@Example.COM` })))
      const dir = await writeFiles({
        '001_lower.ts': migrationSource(`{
          table: 'users',
          transform: (row) => (globalThis as any).evolveRowLockProbe(row),
        }`),
      })
      const app = new pg.Client({ connectionString: db.url })
      await app.connect()
      const knex = runnerKnex(db)
      let outcome: 'inserted' | 'blocked' | undefined
      try {
        const appPid = (await app.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number
        // While the batch holds row 3 (its transform is running), the app inserts an order for user 3:
        // it either completes or shows up waiting on a lock. Either is seen without a timeout.
        global.evolveRowLockProbe = async (row) => {
          if (row.id === 3) {
            const insert = app.query('INSERT INTO orders (user_id) VALUES (3)').then(() => 'inserted' as const)
            const waiting = waitUntil('the insert to finish or wait on a lock', async () => {
              const { rows } = await db.knex.raw('SELECT wait_event_type FROM pg_stat_activity WHERE pid = ?', [appPid])
              return rows[0]?.wait_event_type === 'Lock' && ('blocked' as const)
            })
            outcome = await Promise.race([insert, waiting])
          }
          return { email: row.email.toLowerCase() }
        }
        const runner = new Runner({ knex, migrations: await loadMigrations(dir), batchSize: 10 })
        const [result] = await runner.run()
        assert.equal(result?.state, 'done')
      } finally {
        delete global.evolveRowLockProbe
        await knex.destroy()
        await app.end()
      }
      assert.equal(outcome, 'inserted', 'the insert went through while the batch held the row')
      assert.deepEqual(await db.knex('orders').pluck('user_id'), [3])
      assert.deepEqual(
        await db.knex('users').orderBy('id').pluck('email'),
        [1, 2, 3, 4].map((id) => `user${id}@example.com`),
      )
    }))
})
