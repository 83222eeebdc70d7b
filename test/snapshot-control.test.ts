// An operator's pause, resume and cancel of a snapshot run, from another process while the copy
// is being evolved (lib/core/snapshot/control.ts): the copy's run (`<name>.shadow`) follows, a
// pause holds the swap back until resume, a cancel before the swap lets writes in again and
// leaves the table untouched, and a cancel after the swap is refused, naming what undoes it.
// The copy's batch parks on the gate file (Workspace.hold) so each command lands mid-evolve.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { openEvolve } from '../lib/index.ts'
import { exitOf, output, runCli, spawnCli } from './helpers/cli.ts'
import { dialects, fresh, type FreshDatabase } from './helpers/databases.ts'
import {
  allRows,
  createShop,
  gatedLowercaseMigration,
  heldLine,
  newEmail,
  tableNames,
  workspace,
  type Workspace,
} from './helpers/fixtures.ts'
import { waitUntil } from './helpers/wait.ts'

const ROWS = 400
const NAME = '001_lowercase'
const SHADOW = `${NAME}.shadow`

async function runState(db: FreshDatabase, name: string): Promise<string | undefined> {
  return (await db.knex('evolve_runs').where({ name }).first())?.state
}

async function step(db: FreshDatabase): Promise<string> {
  return String((await db.knex('evolve_snapshots').where({ run_name: NAME }).first())?.step)
}

/** A shop of ROWS users and the gated snapshot migration; `fn` gets the rows as they were. */
async function withShop(
  d: (typeof dialects)[number],
  fn: (db: FreshDatabase, ws: Workspace, before: Record<string, unknown>[]) => Promise<void>,
) {
  const db = await fresh(d)
  const ws = await workspace()
  try {
    await createShop(db, ROWS)
    await ws.migration(NAME, gatedLowercaseMigration(ws.gateFile, { snapshot: true }))
    await fn(db, ws, await allRows(db.knex, 'users'))
  } finally {
    await db.drop()
    await ws.cleanup()
  }
}

/** A runner parked inside a batch of the copy's evolve (key 200 of 400, batches of 50), with the table read-only. */
async function parkedInEvolve(db: FreshDatabase, ws: Workspace) {
  await ws.hold(200)
  const runner = spawnCli(['run', '--db', db.url, '--dir', ws.dir, '--batch-size', '50'])
  await runner.waitFor(heldLine(200))
  assert.equal(await step(db), 'evolve')
  return runner
}

/**
 * `pause` or `cancel` of NAME through the admin object (what `evolve pause` calls) while the copy's
 * batch is parked. PostgreSQL takes it at once, then the gate opens. On SQLite it must wait for
 * that batch's write lock, so it is sent first (already waiting when the gate opens: a CLI process
 * still starting then could miss the whole run) and gets in during the pause after the batch.
 */
async function controlWhileParked(db: FreshDatabase, ws: Workspace, verb: 'pause' | 'cancel') {
  const evolve = await openEvolve({ db: db.url, dir: ws.dir, by: 'test operator' })
  const ended: unknown[] = []
  evolve.events.on('run:end', (e) => ended.push(e))
  try {
    const landed = evolve[verb](NAME)
    if (db.dialect === 'sqlite') await ws.open()
    assert.equal(await landed, verb === 'pause' ? 'paused' : 'cancelled')
    assert.deepEqual(ended, [], 'a live runner unwinds its run itself, not the canceller')
  } finally {
    await evolve.close()
  }
  await ws.open()
}

/** A cancelled run unwound before its swap: the copy and its run gone, the table as it was, writes let in. */
async function assertUnwound(db: FreshDatabase, before: Record<string, unknown>[]) {
  assert.equal(await runState(db, NAME), 'cancelled')
  assert.equal(await runState(db, SHADOW), undefined, 'the copy’s run is forgotten with the copy')
  assert.equal(await step(db), 'preflight')
  assert.deepEqual(await allRows(db.knex, 'users'), before)
  assert.deepEqual(await tableNames(db), ['orders', 'users'], 'the copy is dropped')
  await db.knex('users').where({ id: 1 }).update({ name: 'written after the cancel' }) // read-only is off
}

for (const d of dialects) {
  describe(`controlling a snapshot run on ${d}`, () => {
    it('a cancel during the copy’s evolve stops the copy’s run, lets writes in again, drops the copy and leaves the table untouched; evolve run starts over and swaps', () =>
      withShop(d, async (db, ws, before) => {
        const runner = await parkedInEvolve(db, ws)
        await controlWhileParked(db, ws, 'cancel')
        const ended = await exitOf(runner)
        assert.match(ended.stdout, /cancelled: snapshot stopped at [a-z-]+, before the swap \(users untouched\)/, runner.describe())
        await assertUnwound(db, before)

        const again = await runCli(['run', '--db', db.url, '--dir', ws.dir])
        assert.equal(again.code, 0, output(again))
        assert.equal(await runState(db, NAME), 'done')
        const after = await allRows(db.knex, 'users')
        assert.deepEqual(
          after.map((r) => r.email),
          before.map((r) => newEmail(Number(r.id))),
        )
        assert.equal(after[0]!.name, 'written after the cancel')
      }))

    it('a cancel after its runner was killed (kill -9) unwinds the run from the cancel: writes let in, the copy dropped, the table untouched', () =>
      withShop(d, async (db, ws, before) => {
        const runner = await parkedInEvolve(db, ws)
        await runner.kill('SIGKILL')
        await assert.rejects(db.knex('users').where({ id: 1 }).update({ name: 'x' }), 'read-only stays on with nobody to unwind it')

        const cancelled = await runCli(['cancel', NAME, '--db', db.url])
        assert.equal(cancelled.code, 0, output(cancelled))
        assert.match(
          cancelled.stdout,
          /no runner was left, so the cancel unwound it: snapshot stopped at [a-z-]+, before the swap \(users untouched\)/,
        )
        await assertUnwound(db, before)

        await ws.open()
        const again = await runCli(['run', '--db', db.url, '--dir', ws.dir])
        assert.equal(again.code, 0, output(again))
        assert.equal(await runState(db, NAME), 'done')
        assert.equal((await allRows(db.knex, 'users'))[0]!.name, 'written after the cancel')
      }))

    it('a pause during the copy’s evolve pauses the copy’s run too and holds the swap back; resume finishes the run', () =>
      withShop(d, async (db, ws, before) => {
        const runner = await parkedInEvolve(db, ws)
        await controlWhileParked(db, ws, 'pause')
        await waitUntil('the copy’s run to follow the pause', async () => (await runState(db, SHADOW)) === 'paused')
        assert.equal(runner.child.exitCode, null, 'the runner waits for resume')
        assert.equal(await step(db), 'evolve', 'nothing is swapped while paused')
        assert.deepEqual(await allRows(db.knex, 'users'), before)
        // The copy's rows are the run's rows: what remains is counted from them too.
        const shown = JSON.parse((await runCli(['status', '--json', '--db', db.url, '--dir', ws.dir])).stdout)
        const paused = shown.find((p: { name: string }) => p.name === NAME)
        assert.ok(paused.done >= 150, `the copy's first batches are done (${paused.done})`)
        assert.equal(paused.total, ROWS)
        assert.equal(paused.done + paused.failed + paused.remaining, ROWS, JSON.stringify(paused))

        const resumed = await runCli(['resume', NAME, '--db', db.url])
        assert.equal(resumed.code, 0, output(resumed))
        const ended = await exitOf(runner)
        assert.equal(ended.code, 0, runner.describe())
        assert.equal(await runState(db, NAME), 'done')
        assert.equal(await step(db), 'done')
        assert.deepEqual(
          (await allRows(db.knex, 'users')).map((r) => r.email),
          before.map((r) => newEmail(Number(r.id))),
        )
      }))

    it('readonly off is refused while the snapshot run holds the switch, naming evolve cancel; --force turns it off', () =>
      withShop(d, async (db, ws) => {
        const runner = await parkedInEvolve(db, ws)
        await controlWhileParked(db, ws, 'pause')
        const status = await runCli(['readonly', 'status', '--db', db.url])
        assert.match(status.stdout, /let writes in before that: evolve cancel 001_lowercase/)
        assert.doesNotMatch(status.stdout, /turn it off: evolve readonly off/)

        const refused = await runCli(['readonly', 'off', '--db', db.url])
        assert.equal(refused.code, 2, output(refused))
        assert.match(
          refused.stderr.trimEnd(),
          /^evolve: read-only is held by snapshot run "001_lowercase" [^\n]*not in its copy, so the run would refuse to swap it in[^\n]*`evolve cancel 001_lowercase`[^\n]*--force[^\n]*$/,
        )
        await assert.rejects(db.knex('users').where({ id: 1 }).update({ name: 'x' }), 'still read-only')

        const forced = await runCli(['readonly', 'off', '--force', '--db', db.url])
        assert.equal(forced.code, 0, output(forced))
        await db.knex('users').where({ id: 1 }).update({ name: 'written after --force' })
        assert.equal((await runCli(['cancel', NAME, '--db', db.url])).code, 0)
        await exitOf(runner)
      }))

    it('a cancel after the swap committed is refused in one line naming evolve revert; the run finishes', () =>
      withShop(d, async (db, ws) => {
        const holdFile = path.join(path.dirname(ws.dir), 'hold')
        await writeFile(holdFile, 'swapped')
        const runner = spawnCli(['run', '--db', db.url, '--dir', ws.dir], { env: { EVOLVE_SNAPSHOT_HOLD_FILE: holdFile } })
        await runner.waitFor('[snapshot] holding at swapped')
        const refused = await runCli(['cancel', NAME, '--db', db.url])
        assert.notEqual(refused.code, 0)
        assert.match(refused.stderr.trim(), /^[^\n]*was swapped in already \(step validate\)[^\n]*`evolve revert 001_lowercase`[^\n]*$/)
        assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace')
        await rm(holdFile)
        assert.equal((await exitOf(runner)).code, 0, runner.describe())
        assert.equal(await runState(db, NAME), 'done')
      }))
  })
}
