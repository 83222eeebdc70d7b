// Two snapshot migrations swapped the same table, one after the other: reverting the older one
// would put back the table from before both, undoing the newer one while it still says done. It is
// refused, with or without --force, naming the newer one and the order to revert in, and the table
// stays as it is. Reverted newest first, each puts back its own backup, and writes made in between
// count towards the older one's revert again. A snapshot run of the table still on its way to its
// swap holds a revert back too: its swap would put its copy back over the reverted table.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { assertUsageError, output, runCli, spawnCli } from './helpers/cli.ts'
import { dialects, withDb } from './helpers/databases.ts'
import { allRows, createShop, heldSnapshotRun, migrationSource, snapshotMigration, tableNames, writeFiles } from './helpers/fixtures.ts'

const ROWS = 300
const OLDER = '001_lowercase'
const NEWER = '002_upper_names'

const upperNames = migrationSource(`{
  mode: 'snapshot',
  table: 'users',
  pending: (q) => q.whereRaw('name <> upper(name)'),
  set: { name: (k) => k.raw('upper(name)') },
}`)

for (const d of dialects) {
  describe(`evolve revert of the older of two snapshot swaps of a table on ${d}`, () => {
    it('is refused even with --force, naming the newer one and the order; newest first, each restores its own backup', () =>
      withDb(d, async (db) => {
        await createShop(db, ROWS)
        const original = await allRows(db.knex, 'users')
        const dir = await writeFiles({ [`${OLDER}.ts`]: snapshotMigration(), [`${NEWER}.ts`]: upperNames })
        const flags = ['--db', db.url, '--dir', dir]
        const ran = await runCli(['run', ...flags])
        assert.equal(ran.code, 0, output(ran))
        const lowered: Record<string, unknown>[] = original.map((r) => ({ ...r, email: String(r.email).toLowerCase() }))
        const both = lowered.map((r) => ({ ...r, name: String(r.name).toUpperCase() }))
        assert.deepEqual(await allRows(db.knex, 'users'), both)
        const tables = await tableNames(db)

        const refusal =
          `cannot revert "${OLDER}": "${NEWER}" swapped users after it, and reverting it would undo that one too; ` +
          `revert the latest first: \`evolve revert ${NEWER}\`, then \`evolve revert ${OLDER}\``
        for (const force of [[], ['--force']]) {
          const refused = await runCli(['revert', OLDER, ...force, ...flags])
          assertUsageError(refused, [])
          assert.equal(refused.stderr.trimEnd(), `evolve: ${refusal}`)
          assert.deepEqual(await allRows(db.knex, 'users'), both, `the table unchanged after the refusal ${force.join('')}`)
          assert.deepEqual(await tableNames(db), tables)
          assert.equal((await db.knex('evolve_runs').where({ name: NEWER }).first()).state, 'done')
        }

        const newer = await runCli(['revert', NEWER, ...flags])
        assert.equal(newer.code, 0, output(newer))
        assert.deepEqual(await allRows(db.knex, 'users'), lowered, 'the newer revert puts back the older one’s result')

        // Written after the newer revert: the older one's revert must see it (SQLite counts it again).
        await db.knex('users').insert({ id: ROWS + 1, email: 'late@example.com' })
        assertUsageError(await runCli(['revert', OLDER, ...flags]), [`reverting users would lose 1 row`])
        const older = await runCli(['revert', OLDER, '--force', ...flags])
        assert.equal(older.code, 0, output(older))
        assert.deepEqual(await allRows(db.knex, 'users'), original, 'the older revert puts back the table from before both')
        assert.equal(await db.knex('evolve_runs').whereIn('name', [OLDER, NEWER]).first(), undefined, 'both pending again')
      }))

    it('is refused while a later snapshot run of the table is on its way to its swap', async () => {
      const { db, ws, holdFile, env, args } = await heldSnapshotRun(d)
      try {
        await createShop(db, ROWS)
        await ws.migration(OLDER, snapshotMigration())
        const first = await runCli(args, { env })
        assert.equal(first.code, 0, output(first))
        await ws.migration(NEWER, upperNames)
        await writeFile(holdFile, 'swap')
        const runner = spawnCli(args, { env })
        await runner.waitFor('[snapshot] holding at swap')
        const before = await allRows(db.knex, 'users')

        const revert = ['revert', OLDER, '--force', '--db', db.url, '--dir', ws.dir]
        const refused = await runCli(revert)
        assertUsageError(refused, [])
        assert.equal(
          refused.stderr.trimEnd(),
          `evolve: cannot revert "${OLDER}": "${NEWER}" is making a copy of users (step swap) and its swap would put the copy back ` +
            `over the revert; let it finish, then revert it first, or \`evolve cancel ${NEWER}\``,
        )
        assert.deepEqual(await allRows(db.knex, 'users'), before, 'the table unchanged after the refusal')

        await rm(holdFile)
        assert.equal((await runner.exited).code, 0, runner.describe())
        assertUsageError(await runCli(revert), [`"${NEWER}" swapped users after it`])
      } finally {
        await db.drop()
        await ws.cleanup()
      }
    })
  })
}
