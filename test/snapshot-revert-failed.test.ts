// A revert of a table's latest swap while another snapshot run of the table failed before its swap
// (PostgreSQL: the role running it may not replace the read-only guard's function). One that failed
// at its read-only step copied nothing yet: it does not hold the revert back. One that failed later
// (its copy begun) does, and the refusal names what moves it on: `evolve run`, not `evolve cancel`,
// which refuses a failed run. And a run resumed at its read-only step after read-only went off
// takes the new period as its window: verify does not take it for writes let in during the copy.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertUsageError, output, runCli } from './helpers/cli.ts'
import { allRows, counterHistogram, migrationSource, withAppRole, writeFiles } from './helpers/fixtures.ts'

const ROWS = 30
const FIRST = '001_first'
const SECOND = '002_second'
const bump = (from: number) =>
  migrationSource(`{
    mode: 'snapshot',
    table: 'items',
    pending: (q) => q.where('counter', ${from}),
    set: { counter: (k) => k.raw('counter + 1') },
  }`)

describe('evolve revert of a snapshot swap while a later snapshot run of the table failed before its swap, on postgres', () => {
  it('reverts past one that failed at its read-only step; one that failed at a later step holds it back, naming `evolve run`', () =>
    withAppRole(ROWS, async (db, { url }) => {
      const original = await allRows(db.knex, 'items')
      const dir = await writeFiles({ [`${FIRST}.ts`]: bump(0) })
      const flags = ['--db', url, '--dir', dir]

      const first = await runCli(['run', ...flags])
      assert.equal(first.code, 0, output(first))
      const swapped = await allRows(db.knex, 'items')
      assert.deepEqual(
        swapped,
        original.map((r) => ({ ...r, counter: 1 })),
      )

      // Another evolvekit's guard function, the superuser's: the app's role may not replace it.
      const { rows } = await db.knex.raw('SELECT current_user AS me')
      await db.knex.raw(`ALTER FUNCTION public.evolve_read_only_refuse() OWNER TO ${rows[0].me}`)
      await db.knex.raw(
        `CREATE OR REPLACE FUNCTION evolve_read_only_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
      )
      await writeFiles({ [`${SECOND}.ts`]: bump(1) }, dir)
      assertUsageError(await runCli(['run', ...flags]), [`belongs to role "${rows[0].me}"`])
      assert.equal((await db.knex('evolve_runs').where({ name: SECOND }).first()).state, 'failed')
      assert.equal((await db.knex('evolve_snapshots').where({ run_name: SECOND }).first()).step, 'read-only')
      assert.deepEqual(await allRows(db.knex, 'items'), swapped, 'the table untouched')

      // Failed with its copy begun (a step refused later leaves the run there, failed, the same way).
      await db.knex('evolve_snapshots').where({ run_name: SECOND }).update({ step: 'copy' })
      const refused = await runCli(['revert', FIRST, '--force', ...flags])
      assertUsageError(refused, [])
      assert.equal(
        refused.stderr.trimEnd(),
        `evolve: cannot revert "${FIRST}": "${SECOND}" is making a copy of items (step copy) and its swap would put the copy back ` +
          `over the revert; it failed there: once mended, \`evolve run ${SECOND}\` finishes it; then revert it first`,
      )
      assert.deepEqual(await allRows(db.knex, 'items'), swapped, 'the table unchanged after the refusal')
      await db.knex('evolve_snapshots').where({ run_name: SECOND }).update({ step: 'read-only' })

      const reverted = await runCli(['revert', FIRST, ...flags])
      assert.equal(reverted.code, 0, output(reverted))
      assert.deepEqual(await allRows(db.knex, 'items'), original, 'the table from before the first swap')
    }))
})

describe('a snapshot run resumed at its read-only step after read-only went off, on postgres', () => {
  it('takes the new read-only period as its window, and verify lets the copy be swapped in', () =>
    withAppRole(ROWS, async (db, { url }) => {
      const dir = await writeFiles({ [`${FIRST}.ts`]: bump(0) })
      const flags = ['--db', url, '--dir', dir]
      const { rows } = await db.knex.raw('SELECT current_user AS me')
      await db.knex.raw(`CREATE FUNCTION evolve_read_only_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`)
      assertUsageError(await runCli(['run', ...flags]), [`belongs to role "${rows[0].me}"`])
      // As a run that recorded its window, then died before its copy, leaves it: read-only has gone
      // off since (here: it never went on), so the resumed step turns it on in a new period.
      await db.knex('evolve_snapshots').where({ run_name: FIRST, step: 'read-only' }).update({ read_only_at: 1 })

      await db.knex.raw(`ALTER FUNCTION public.evolve_read_only_refuse() OWNER TO ${new URL(url).username}`)
      const resumed = await runCli(['run', ...flags])
      assert.equal(resumed.code, 0, output(resumed))
      assert.equal((await db.knex('evolve_runs').where({ name: FIRST }).first()).state, 'done')
      assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
      assert.ok(Number((await db.knex('evolve_snapshots').where({ run_name: FIRST }).first()).read_only_at) > 1, 'the window begins anew')
    }))
})
