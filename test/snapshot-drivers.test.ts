// Two `evolve run` processes of one fresh snapshot migration, started together: exactly one
// drives it, the other refuses at once (exit 2, one line naming the driver's host and pid), and
// the run ends done with one copy of every row. Without the claim both copied into the same copy
// (twice the rows), crashed on its key and left the table read-only.
//
// The driver waits at its copy step while the hold file says `copy` (lib/core/snapshot/hold.ts),
// so both processes are surely alive together; the one refused never gets there.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { describe, it } from 'node:test'
import { assertUsageError, exitOf, runCli, spawnCli, type RunningCli } from './helpers/cli.ts'
import { dialects } from './helpers/databases.ts'
import { allRows, createShop, heldSnapshotRun, newEmail, snapshotMigration, tableNames } from './helpers/fixtures.ts'

const ROWS = 600
const NAME = '001_lowercase'

for (const d of dialects) {
  describe(`two runners of one snapshot migration on ${d}`, () => {
    it('lets one drive it and refuses the other, naming the driver', async () => {
      const { db, ws, holdFile, env, args } = await heldSnapshotRun(d)
      try {
        await createShop(db, ROWS)
        await ws.migration(NAME, snapshotMigration())
        await writeFile(holdFile, 'copy')
        const both = [spawnCli(args, { env }), spawnCli(args, { env })]
        // The refused one exits; the driver holds at its copy step until the hold file goes.
        const first = await Promise.race(both.map(async (cli) => ({ cli, result: await exitOf(cli, 60_000) })))
        const driver = both.find((cli) => cli !== first.cli) as RunningCli
        assertUsageError(first.result, ['another process', `${hostname()} pid ${driver.child.pid}`, `evolve status ${NAME}`])
        await driver.waitFor('[snapshot] holding at copy')
        await rm(holdFile)
        const last = await exitOf(driver)
        assert.equal(last.code, 0, `${last.stdout}\n${last.stderr}`)

        const users = await allRows(db.knex, 'users')
        assert.equal(users.length, ROWS, 'every row once, not twice')
        assert.deepEqual(
          users.map((u) => u.email),
          users.map((u) => newEmail(Number(u.id))),
        )
        assert.deepEqual(await tableNames(db), ['orders', 'users', 'users__evolve_old_1'])
        assert.equal((await db.knex('evolve_runs').where({ name: NAME }).first()).state, 'done')
        // The driver let go when it finished: a later run of the migration is not refused.
        const again = await runCli(args)
        assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`)
      } finally {
        await rm(holdFile, { force: true })
        await db.drop()
        await ws.cleanup()
      }
    })
  })
}
