// A snapshot run whose copy's evolve fails for some rows: what it tells the user to do must
// work. The copy's run (`<name>.shadow`) cannot be retried; the way on is to fix the migration
// and `evolve run` again, which starts over from a fresh copy (the table was never touched).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertDone } from '../lib/index.ts'
import { failuresJson, output, runCli, statusJson } from './helpers/cli.ts'
import { dialects, withDb } from './helpers/databases.ts'
import { allRows, createShop, migrationSource, newEmail, oldEmail, tableNames, writeFiles } from './helpers/fixtures.ts'

const NAME = '001_snapfail'
const SHADOW = `${NAME}.shadow`
const ROWS = 100
const BROKEN = [25, 50, 75]

/** Lower-cases every e-mail in snapshot mode; with `broken`, the transform throws for the BROKEN ids. */
function migration(broken: boolean): string {
  return migrationSource(`{
    mode: 'snapshot',
    table: 'users',
    batchSize: 20,
    pending: (q) => q.whereRaw('email <> lower(email)'),
    transform: (row) => {
      if (${broken} && ${JSON.stringify(BROKEN)}.includes(Number(row.id))) throw new Error('cannot evolve user ' + row.id)
      return { email: row.email.toLowerCase() }
    },
  }`)
}

for (const d of dialects) {
  describe(`snapshot mode on ${d}`, () => {
    it('a copy whose evolve fails for some rows ends failed saying to fix the migration and evolve run it again, which then finishes from a fresh copy', () =>
      withDb(d, async (db) => {
        await createShop(db, ROWS)
        const before = await allRows(db.knex, 'users')
        const dir = await writeFiles({ [`${NAME}.ts`]: migration(true) })
        const flags = ['--db', db.url, '--dir', dir]

        const run = await runCli(['run', ...flags])
        assert.equal(run.code, 1, output(run))
        assert.deepEqual(await allRows(db.knex, 'users'), before, 'the table was not touched')
        assert.deepEqual(await tableNames(db), ['orders', 'users'], 'the copy is dropped')

        const status = await statusJson(NAME, flags)
        assert.equal(status.state, 'failed')
        const error = status.lastError ?? ''
        assert.match(error, /^snapshot stopped at [a-z-]+, before the swap \(users untouched\): /, error)
        assert.match(error, new RegExp(`failed on ${BROKEN.length} objects`), error)
        assert.match(error, new RegExp(`\`evolve failures ${SHADOW}\``), error)
        assert.match(error, new RegExp(`fix the migration, then \`evolve run ${NAME}\` starts over from a fresh copy`), error)
        assert.ok(!error.includes('\n'), 'one line')
        // Neither the run nor anything the CLI printed sends the user to a retry that is refused.
        const shadow = await statusJson(SHADOW, flags)
        for (const [what, text] of [
          ['lastError', error],
          ['the copy run lastError', shadow.lastError ?? ''],
          ['the run output', run.stdout + run.stderr],
        ]) {
          assert.doesNotMatch(text!, /evolve retry/, `${what} names a retry: ${text}`)
        }
        assert.match(shadow.lastError ?? '', new RegExp(`\`evolve run ${NAME}\``), 'the copy run says what works too')

        // What the message names works: the copy run's failures are listed.
        const failures = await failuresJson(SHADOW, flags)
        assert.deepEqual(
          failures.map((f) => Number(f.key)).sort((a, b) => a - b),
          BROKEN,
        )
        for (const f of failures) assert.match(f.error, /cannot evolve user \d+/)
        const listed = await runCli(['failures', SHADOW, ...flags])
        assert.match(
          listed.stdout.trimEnd().split('\n').at(-1)!,
          new RegExp(`failed: fix the migration, then \`evolve run ${NAME}\` starts over`),
        )
        assert.doesNotMatch(listed.stdout, /evolve retry/)
        await assert.rejects(assertDone(db.knex, NAME), (err: Error) => {
          assert.match(err.message, new RegExp(`fix the migration, then \`evolve run ${NAME}\` starts over`))
          assert.doesNotMatch(err.message, /evolve retry/)
          return true
        })

        // Fix the migration, run again: a fresh copy is evolved and swapped in.
        await writeFiles({ [`${NAME}.ts`]: migration(false) }, dir)
        const again = await runCli(['run', ...flags])
        assert.equal(again.code, 0, output(again))
        assert.equal((await statusJson(NAME, flags)).state, 'done')
        const after = await allRows(db.knex, 'users')
        assert.deepEqual(
          after.map((r) => r.email),
          before.map((r) => newEmail(Number(r.id))),
          'every row evolved',
        )
        assert.ok(
          before.every((r) => r.email === oldEmail(Number(r.id))),
          'the rows were in the old shape before',
        )
      }))
  })
}
