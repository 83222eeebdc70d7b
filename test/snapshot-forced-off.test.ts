// `evolve readonly off --force` while a snapshot run holds its table: the app then updates rows of
// the live table, which the copy does not have (the row count stays the same). The run, held during
// its copy or just before its swap, must not swap the copy in (the updates would exist only in the
// backup): it drops the copy and fails with the reason (at verify, or inside the swap), the table
// keeps the updates, and the next `evolve run` starts over and keeps them too.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { READ_ONLY_NOTICE } from '../lib/core/read-only-run.ts'
import { output, runCli, spawnCli } from './helpers/cli.ts'
import { dialects } from './helpers/databases.ts'
import { allRows, createShop, heldSnapshotRun, snapshotMigration, tableNames } from './helpers/fixtures.ts'

const ROWS = 300
const NAME = '001_lowercase'
const UPDATED = [5, 150, 299]
/** Where the run is held when read-only is forced off (the copy has rows 1–100 then), and where it stops. */
const CASES = [
  { hold: 'copy', stops: 'verify' },
  { hold: 'swap', stops: 'swap' },
]

for (const d of dialects) {
  describe(`snapshot mode after read-only was forced off on ${d}`, () => {
    for (const { hold, stops } of CASES)
      it(`refuses to swap in a copy that lacks the rows the app updated meanwhile (forced off at ${hold}), and the next run keeps them`, async () => {
        const { db, ws, holdFile, env, args } = await heldSnapshotRun(d)
        try {
          await createShop(db, ROWS)
          await ws.migration(NAME, snapshotMigration())
          await writeFile(holdFile, hold)
          const runner = spawnCli(args, { env })
          await runner.waitFor(`[snapshot] holding at ${hold}`)

          const told = JSON.parse((await runCli(['readonly', 'status', '--json', '--db', db.url])).stdout).message
          assert.equal(told, READ_ONLY_NOTICE, "the app's users are told the notice, not the migration's or table's name")
          const refused = await runCli(['readonly', 'off', '--db', db.url])
          assert.equal(refused.code, 2, output(refused))
          const forced = await runCli(['readonly', 'off', '--force', '--db', db.url])
          assert.equal(forced.code, 0, output(forced))
          assert.match(
            forced.stderr,
            /^evolve: snapshot run "\S+" held read-only: .* refuse to swap it in and fail; `evolve run \S+` then starts over/m,
          )
          // Acknowledged updates through a connection of the test's own, not the runner's.
          assert.equal(await db.knex('users').whereIn('id', UPDATED).update({ name: 'updated while forced off' }), UPDATED.length)
          const before = await allRows(db.knex, 'users')

          await rm(holdFile)
          const failed = await runner.exited
          assert.notEqual(failed.code, 0, `the run failed:\n${runner.describe()}`)
          const reason =
            `snapshot stopped at ${stops}, before the swap (users untouched): read-only on users was turned off during the copy (by ` +
            `${(await db.knex('evolve_read_only_audit').where({ action: 'off' }).first()).by}): the app's writes since then are not in ` +
            `the copy, so it was not swapped in; \`evolve run ${NAME}\` starts over from a fresh copy`
          const run = await db.knex('evolve_runs').where({ name: NAME }).first()
          assert.equal(run.state, 'failed')
          assert.equal(run.last_error, reason)
          assert.ok(output(failed).includes(reason), `the run says why:\n${output(failed)}`)
          assert.deepEqual(await allRows(db.knex, 'users'), before, 'the live table untouched, the updates in it')
          assert.deepEqual(await tableNames(db), ['orders', 'users'], 'the copy dropped, nothing swapped')

          const again = await runCli(args)
          assert.equal(again.code, 0, output(again))
          const evolved = before.map((r) => ({ ...r, email: String(r.email).toLowerCase() }))
          assert.deepEqual(await allRows(db.knex, 'users'), evolved, 'the updates kept, every row evolved')
          assert.equal((await db.knex('evolve_runs').where({ name: NAME }).first()).state, 'done')
        } finally {
          await db.drop()
          await ws.cleanup()
        }
      })
  })
}
