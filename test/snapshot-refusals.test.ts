// What snapshot mode refuses before anything changes (a migration it cannot run on a copy), and
// --mode online running a snapshot-mode file in place.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { output, runCli } from './helpers/cli.ts'
import { dialects, withDb } from './helpers/databases.ts'
import { createUsers, migrationSource, rowsOf, tableNames, writeFiles } from './helpers/fixtures.ts'

const UP = `{
  table: 'users',
  up: async (rows, { trx }) => {
    for (const r of rows) await trx('users').where({ id: r.id }).update({ email: r.email.toLowerCase() })
  },
}`

for (const d of dialects) {
  describe(`snapshot mode on ${d}`, () => {
    it('refuses an up migration (it writes the live table by name) in one line, from the file or --mode snapshot, and changes nothing', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 30 })
        const before = await rowsOf(db.knex, 'users')
        const inFile = await writeFiles({
          '001_up.ts': migrationSource(UP.replace("table: 'users',", "table: 'users', mode: 'snapshot',")),
        })
        const plain = await writeFiles({ '001_up.ts': migrationSource(UP) })
        for (const args of [
          ['--dir', inFile],
          ['--dir', plain, '--mode', 'snapshot'],
        ]) {
          const result = await runCli(['run', '--db', db.url, ...args])
          assert.equal(result.code, 2, output(result))
          assert.match(
            result.stderr.trimEnd(),
            /^evolve: [^\n]*001_up\.ts: snapshot mode evolves a copy of "users", but `up` writes tables by name[^\n]*`transform` or `set`[^\n]*$/,
          )
        }
        assert.deepEqual(await rowsOf(db.knex, 'users'), before, 'the table as it was')
        assert.deepEqual(await tableNames(db), ['users'], 'no copy')
        assert.equal(Number((await db.knex('evolve_runs').count({ n: '*' }).first())?.n), 0, 'no run')
        await db.knex('users').where({ id: 1 }).update({ name: 'written after' }) // not read-only
      }))

    it('--mode online runs a snapshot-mode file in place: no copy, no swap, the rows evolved', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 30 })
        const dir = await writeFiles({
          '001_lower.ts': migrationSource(
            "{ table: 'users', mode: 'snapshot', columns: ['email'], pending: (q) => q.whereRaw('email <> lower(email)'), transform: (row) => ({ email: row.email.toLowerCase() }) }",
          ),
        })
        const plan = await runCli(['plan', '--db', db.url, '--dir', dir, '--mode', 'online'])
        assert.equal(plan.code, 0, output(plan))
        assert.match(plan.stdout, /001_lower \(transform mode on users/)
        assert.doesNotMatch(plan.stdout, /preflight|extra disk/i)
        const result = await runCli(['run', '--db', db.url, '--dir', dir, '--mode', 'online'])
        assert.equal(result.code, 0, output(result))
        assert.deepEqual(await tableNames(db), ['users'], 'no copy and no backup: evolved in place')
        assert.equal(Number((await db.knex('evolve_snapshots').count({ n: '*' }).first())?.n), 0)
        for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.email, String(row.email).toLowerCase())
      }))
  })
}
