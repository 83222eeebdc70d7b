// Snapshot mode killed with SIGKILL at each step that matters — during the copy, during the
// copy's evolve, just before the swap and just after it — and run again: the live table is
// intact after every kill (the old rows before the swap, the evolved ones after it) and the
// last run finishes with the right contents and the old table kept as the backup.
//
// Kills land at exact points: the copy and the swap wait while a hold file names their point
// (EVOLVE_SNAPSHOT_HOLD_FILE, lib/core/snapshot/hold.ts); the evolve parks on the gate file of
// the crash fixtures, inside a batch transaction.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { runCli, spawnCli } from './helpers/cli.ts'
import { dialects, type FreshDatabase } from './helpers/databases.ts'
import { allRows, createShop, gatedLowercaseMigration, heldLine, heldSnapshotRun, newEmail, tableNames } from './helpers/fixtures.ts'

const ROWS = 400
const NAME = '001_lowercase'

async function step(db: FreshDatabase): Promise<string> {
  return String((await db.knex('evolve_snapshots').where({ run_name: NAME }).first())?.step)
}

for (const d of dialects) {
  describe(`snapshot mode killed with SIGKILL on ${d}`, () => {
    it('resumes after kills during the copy, during the evolve, just before and just after the swap, the live table intact each time', async () => {
      const { db, ws, holdFile, env, args } = await heldSnapshotRun(d)
      try {
        await createShop(db, ROWS)
        const before = await allRows(db.knex, 'users')
        const evolved = before.map((r) => ({ ...r, email: newEmail(Number(r.id)) }))
        await ws.migration(NAME, gatedLowercaseMigration(ws.gateFile, { snapshot: true }))

        const killAt = async (waitLine: string, expectedStep: string) => {
          const cli = spawnCli(args, { env })
          await cli.waitFor(waitLine)
          assert.equal(await step(db), expectedStep)
          const result = await cli.kill('SIGKILL')
          assert.equal(result.signal, 'SIGKILL', `killed, not finished:\n${result.stdout}\n${result.stderr}`)
        }

        // 1. During the copy: one chunk of 100 rows committed, 300 to go.
        await writeFile(holdFile, 'copy')
        await killAt('[snapshot] holding at copy', 'copy')
        assert.equal(Number((await db.knex('evolve_snapshots').first()).copied), 100)
        assert.deepEqual(await allRows(db.knex, 'users'), before, 'after a kill during the copy')

        // 2. During the evolve of the copy, inside a batch transaction.
        await rm(holdFile)
        await ws.hold(200)
        await killAt(heldLine(200), 'evolve')
        assert.deepEqual(await allRows(db.knex, 'users'), before, 'after a kill during the evolve')
        await ws.open()

        // 3. Just before the swap (verified, nothing swapped yet).
        await writeFile(holdFile, 'swap')
        await killAt('[snapshot] holding at swap', 'swap')
        assert.deepEqual(await allRows(db.knex, 'users'), before, 'after a kill just before the swap')

        // 4. Just after the swap committed: the table is the evolved copy, the backup the old rows.
        await writeFile(holdFile, 'swapped')
        await killAt('[snapshot] holding at swapped', 'validate')
        assert.deepEqual(await allRows(db.knex, 'users'), evolved, 'after a kill just after the swap')
        assert.deepEqual(await allRows(db.knex, 'users__evolve_old_1'), before)

        // 5. To the end.
        await rm(holdFile)
        const last = await runCli(args, { env })
        assert.equal(last.code, 0, `${last.stdout}\n${last.stderr}`)
        assert.equal(await step(db), 'done')
        assert.equal((await db.knex('evolve_runs').where({ name: NAME }).first()).state, 'done')
        assert.deepEqual(await allRows(db.knex, 'users'), evolved)
        assert.deepEqual(await allRows(db.knex, 'users__evolve_old_1'), before)
        assert.deepEqual(await tableNames(db), ['orders', 'users', 'users__evolve_old_1'], 'no copy left behind')
        const [inserted] = await db.knex('users').insert({ email: 'new@example.com' }).returning('id')
        assert.equal(Number(typeof inserted === 'object' ? inserted.id : inserted), ROWS + 1)
      } finally {
        await db.drop()
        await ws.cleanup()
      }
    })
  })
}
