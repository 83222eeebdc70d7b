// A done run reads as complete in `evolve run`'s last line and `status --json`, even when its stored total,
// counted as it started, is more than it ever had to do: the app moved rows out of `pending`
// meanwhile, or a snapshot run counted the whole table.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { output, runCli, spawnCli, statusJson } from './helpers/cli.ts'
import { withDb } from './helpers/databases.ts'
import {
  createShop,
  createUsers,
  gatedLowercaseMigration,
  heldLine,
  snapshotMigration,
  waitUntil,
  workspace,
  writeFiles,
} from './helpers/fixtures.ts'

const ROWS = 100

describe('the total of a done run', () => {
  it('rows the app moved out of pending during the run: done, 50/50 rows (100%)', () =>
    withDb('postgres', async (db) => {
      await createUsers(db, { count: ROWS, pending: () => true })
      const ws = await workspace()
      try {
        const name = await ws.migration('001_lower', gatedLowercaseMigration(ws.gateFile, { batchSize: 10 }))
        const flags = ['--db', db.url, '--dir', ws.dir]
        await ws.hold(5)
        const run = spawnCli(['run', ...flags])
        await run.waitFor(heldLine(5))
        await waitUntil('the total is counted', async () => (await statusJson(name, flags)).total === ROWS)
        // The app fixes half the rows itself while the first batch is parked.
        await db
          .knex('users')
          .where('id', '>', ROWS / 2)
          .update({ email: db.knex.raw('lower(email)') })
        await ws.open()
        const ended = await run.exited
        assert.equal(ended.code, 0, output(ended))

        const entry = await statusJson(name, flags)
        assert.equal(entry.state, 'done')
        assert.equal(entry.done, ROWS / 2)
        assert.equal(entry.total, ROWS / 2, 'the total is what the run did')
        assert.equal(entry.remaining, 0)
        assert.match(ended.stdout, new RegExp(`^${name}: done, ${ROWS / 2}/${ROWS / 2} rows \\(100%\\)`, 'm'), ended.stdout)
      } finally {
        await ws.cleanup()
      }
    }))

  it('a snapshot run over a table whose rows are partly evolved already: done, n/n rows (100%)', () =>
    withDb('postgres', async (db) => {
      await createShop(db, ROWS)
      await db
        .knex('users')
        .where('id', '>', 60)
        .update({ email: db.knex.raw('lower(email)') })
      const dir = await writeFiles({ '001_snap.ts': snapshotMigration() })
      const flags = ['--db', db.url, '--dir', dir]
      const run = await runCli(['run', ...flags])
      assert.equal(run.code, 0, output(run))
      const entry = await statusJson('001_snap', flags)
      assert.equal(entry.state, 'done')
      assert.equal(entry.done, 60)
      assert.equal(entry.total, 60)
      assert.match(run.stdout, /^001_snap: done, 60\/60 rows \(100%\)/m, run.stdout)
    }))
})
