// A run is known by its migration's name: these check what evolvekit says and refuses when the
// file of that name is edited, renamed or deleted after its run started (a user trial found
// every one of them silent: a run `done` over two half-evolved tables, a rename applied twice).
import assert from 'node:assert/strict'
import { rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { assertUsageError, output, runCli, spawnCli, statusJson } from './helpers/cli.ts'
import { type Dialect, type FreshDatabase, dialects, withDb } from './helpers/databases.ts'
import {
  type Workspace,
  counterHistogram,
  createItems,
  createShop,
  createUsers,
  gateSource,
  heldLine,
  migrationSource,
  runRow,
  setMigration,
  snapshotMigration,
  workspace,
  waitUntil,
  writeFiles,
} from './helpers/fixtures.ts'

const ROWS = 100
const NAME = '001_count'

/** An `up` migration adding `by` to `counter` of `table`, parking the batch that holds a key the gate names. */
function counting(ws: Workspace, o: { table?: string; by?: number } = {}): string {
  const table = o.table ?? 'items'
  return migrationSource(
    `{
  table: '${table}',
  async up(rows, { trx }) {
    await gate(rows.map((r) => r.id))
    await trx('${table}').whereIn('id', rows.map((r) => r.id)).increment('counter', ${o.by ?? 1})
  },
}`,
    gateSource(ws.gateFile),
  )
}

/** `items` and `users`, 100 rows each, every counter 0; the migration's first version in a workspace. */
/** A fresh database of `dialect` with items and users, the counting migration in a workspace, and the CLI's flags for both. */
function withSetUp(dialect: Dialect, fn: (db: FreshDatabase, ws: Workspace, flags: string[]) => Promise<void>): Promise<void> {
  return withDb(dialect, async (db) => {
    await createItems(db.knex, ROWS)
    await createUsers(db, { count: ROWS })
    const ws = await workspace()
    try {
      await ws.migration(NAME, counting(ws))
      await fn(db, ws, ['--db', db.url, '--dir', ws.dir])
    } finally {
      await ws.cleanup()
    }
  })
}

/** A run killed (-9) with keys 1..50 evolved, its batch 51..60 parked: `running (no workers)`. Opens the gate. */
async function killedHalfWay(ws: Workspace, flags: string[]): Promise<void> {
  await ws.hold(51)
  const run = spawnCli(['run', '--batch-size', '10', ...flags])
  await run.waitFor(heldLine(51))
  await run.kill()
  await ws.open()
}

async function usersCounted(db: FreshDatabase): Promise<number> {
  return Number((await db.knex('users').where('counter', '>', 0).count({ n: '*' }).first())?.n)
}

for (const dialect of dialects) {
  describe(`a migration file edited after its run started (${dialect})`, () => {
    it('evolve run refuses to go on with a run whose file now names another table, and changes nothing', () =>
      withSetUp(dialect, async (db, ws, flags) => {
        await killedHalfWay(ws, flags)
        await ws.migration(NAME, counting(ws, { table: 'users' }))

        const refused = await runCli(['run', ...flags])
        assertUsageError(refused, [
          `${NAME}.ts changed since its run started (table items → users)`,
          'restore the file',
          'new file name',
          `evolve cancel ${NAME}`,
        ])
        assert.deepEqual(await counterHistogram(db.knex), { 0: 50, 1: 50 }, 'items: as the killed run left them')
        assert.equal(await usersCounted(db), 0, 'users: untouched')
        assert.equal((await runRow(db.knex, NAME))?.state, 'running')
        const entry = await statusJson(NAME, flags)
        assert.equal(entry.fileChanged, 'table items → users')
        assert.equal(entry.done, 50)
        const plan = await runCli(['plan', ...flags])
        assert.match(
          plan.stdout,
          /file changed since its run started: table items → users: `evolve run` and `evolve retry` refuse/,
          output(plan),
        )
        assertUsageError(await runCli(['retry', NAME, ...flags]), [`${NAME}.ts changed since its run started (table items → users)`])

        // The file as it was: the run goes on where it stopped, on its own table.
        await ws.migration(NAME, counting(ws))
        const resumed = await runCli(['run', ...flags])
        assert.equal(resumed.code, 0, output(resumed))
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
        assert.equal(await usersCounted(db), 0)
      }))

    it("a changed transform goes on, said once on stderr and for good in status's codeChangedAt", () =>
      withSetUp(dialect, async (db, ws, flags) => {
        await killedHalfWay(ws, flags)
        // A comment and new line endings are no change of code.
        await ws.migration(NAME, `// counts each row\n${counting(ws)}`.replace(/\n/g, '\r\n'))
        assert.equal((await statusJson(NAME, flags)).fileChanged, null)
        await ws.migration(NAME, counting(ws, { by: 2 }))
        const before = await statusJson(NAME, flags)
        assert.equal(before.fileChanged, 'its code')
        assert.equal(before.codeChangedAt, null)

        const resumed = await runCli(['run', ...flags])
        assert.equal(resumed.code, 0, output(resumed))
        assert.match(resumed.stderr, /001_count\.ts changed since its run started: rows evolved before used the old code/, output(resumed))
        assert.deepEqual(await counterHistogram(db.knex), { 1: 50, 2: 50 })
        const after = await statusJson(NAME, flags)
        assert.equal(after.state, 'done')
        assert.equal(after.fileChanged, null, 'the run went on with this code: it is what the run has now')
        assert.match(String(after.codeChangedAt), /^\d{4}-\d\d-\d\dT/)
        const status = await runCli(['status', ...flags])
        assert.match(status.stdout, /001_count: went on with changed code at .*: rows evolved before used the old code/, output(status))

        const again = await runCli(['run', ...flags])
        assert.equal(again.code, 0, output(again))
        assert.doesNotMatch(again.stderr, /changed since/, 'said once')
      }))

    it('a second runner with another version of the file is refused while the first serves the run', () =>
      withSetUp(dialect, async (db, ws, flags) => {
        await ws.hold(51)
        const first = spawnCli(['run', '--batch-size', '10', ...flags])
        await first.waitFor(heldLine(51))
        const other = await writeFiles({ [`${NAME}.ts`]: counting(ws, { by: 2 }) })
        const second = await runCli(['run', '--db', db.url, '--dir', other])
        assertUsageError(second, [`${NAME}.ts is not the code its run is being served with`, `pid ${first.child.pid}`, 'the same file'])

        await ws.open()
        const ended = await first.exited
        assert.equal(ended.code, 0, output(ended))
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS }, 'every row evolved by one version')
      }))

    it('a run an older version opened has no definition: it goes on without a word, and its definition is stored', () =>
      withSetUp(dialect, async (db, ws, flags) => {
        await killedHalfWay(ws, flags)
        await db.knex('evolve_runs').where({ name: NAME }).update({ definition: null })
        await ws.migration(NAME, counting(ws, { by: 2 }))
        assert.equal((await statusJson(NAME, flags)).fileChanged, null, 'unknown: nothing said')

        await ws.hold(71)
        const resumed = spawnCli(['run', '--batch-size', '10', ...flags])
        await resumed.waitFor(heldLine(71))
        const row = await db.knex('evolve_runs').where({ name: NAME }).first()
        assert.equal(JSON.parse(row.definition).table, 'items', 'stored as the run was opened')
        assert.equal(row.code_changed_at, null)
        await ws.open()
        const ended = await resumed.exited
        assert.equal(ended.code, 0, output(ended))
        assert.doesNotMatch(ended.stderr, /changed since/, output(ended))
      }))
  })

  describe(`a migration file renamed or deleted (${dialect})`, () => {
    it('a done migration copied to a new name is refused until --allow-rerun, and said to look renamed', () =>
      withDb(dialect, async (db) => {
        await createItems(db.knex, ROWS)
        const dir = await writeFiles({ '001_bump.ts': setMigration(10) })
        const flags = ['--db', db.url, '--dir', dir]
        const first = await runCli(['run', ...flags])
        assert.equal(first.code, 0, output(first))
        await rename(path.join(dir, '001_bump.ts'), path.join(dir, '002_bump-again.ts'))

        assert.equal((await statusJson('001_bump', flags)).noFile, true)
        assert.equal((await statusJson('002_bump-again', flags)).renamedFrom, '001_bump')
        const plan = await runCli(['plan', ...flags])
        assert.match(plan.stdout, /looks like 001_bump renamed/, output(plan))
        const refused = await runCli(['run', ...flags])
        assertUsageError(refused, ['002_bump-again.ts looks like 001_bump renamed', "evolve 001_bump's rows again", '--allow-rerun'])
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS }, 'not applied twice')

        const rerun = await runCli(['run', '--allow-rerun', ...flags])
        assert.equal(rerun.code, 0, output(rerun))
        assert.match(rerun.stderr, /002_bump-again looks like 001_bump renamed/, output(rerun))
        assert.deepEqual(await counterHistogram(db.knex), { 2: ROWS }, 'applied again, as asked')
      }))

    it("a snapshot-mode migration's run is known under a new name too", () =>
      withDb(dialect, async (db) => {
        await createShop(db, ROWS)
        const dir = await writeFiles({ '001_snap.ts': snapshotMigration() })
        const flags = ['--db', db.url, '--dir', dir]
        const first = await runCli(['run', ...flags])
        assert.equal(first.code, 0, output(first))
        await rename(path.join(dir, '001_snap.ts'), path.join(dir, '002_snap.ts'))
        assertUsageError(await runCli(['run', ...flags]), ['002_snap.ts looks like 001_snap renamed'])
      }))

    it('a run whose file is gone is marked in status and named by run, with restore or cancel', () =>
      withSetUp(dialect, async (db, ws, flags) => {
        await killedHalfWay(ws, flags)
        await rm(path.join(ws.dir, `${NAME}.ts`))
        await ws.migration('002_other', setMigration(10).replace("'items'", "'users'"))

        const status = await runCli(['status', ...flags])
        assert.match(status.stdout, /^001_count \(no file here\) +running/m, output(status))
        assert.equal((await statusJson(NAME, flags)).noFile, true)
        assert.equal((await statusJson('002_other', flags)).noFile, false)

        const all = await runCli(['run', ...flags])
        assert.equal(all.code, 0, output(all))
        assert.match(all.stderr, /001_count is running but has no file in .*: restore its file .*`evolve cancel 001_count`/, output(all))
        assert.equal(await usersCounted(db), ROWS, 'the migrations that have files ran')

        const named = await runCli(['run', NAME, ...flags])
        assertUsageError(named, [`no migration file "${NAME}"`, 'the database has a running run of that name', `evolve cancel ${NAME}`])
        assert.deepEqual(await counterHistogram(db.knex), { 0: 50, 1: 50 })
      }))
  })
}

describe('two runners with different versions of the file starting at the same moment (postgres)', () => {
  it('exactly one serves the run: the second to take the run row sees the first and is refused, and every row is evolved by one version', () =>
    withSetUp('postgres', async (db, ws, flags) => {
      await killedHalfWay(ws, flags)
      const other = await writeFiles({ [`${NAME}.ts`]: counting(ws, { by: 2 }) })
      // The run row held from here: both runners pass the checks made before the run starts, then queue on it together.
      const holder = await db.knex.transaction()
      try {
        await holder.raw('SELECT 1 FROM evolve_runs WHERE name = ? FOR UPDATE', [NAME])
        const runners = [flags, ['--db', db.url, '--dir', other]].map((f) => spawnCli(['run', '--batch-size', '10', ...f]))
        // Seconds once the runners line up there (without the change, one never waits on the row).
        await waitUntil(
          'both runners wait on the run row',
          async () => {
            const { rows } = await db.knex.raw(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
            )
            return rows[0].n >= 2
          },
          { timeoutMs: 30_000 },
        )
        await holder.commit()
        const results = await Promise.all(runners.map((r) => r.exited))
        const served = results.filter((r) => r.code === 0)
        const refused = results.filter((r) => r.code !== 0)
        assert.equal(served.length, 1, results.map(output).join('\n---\n'))
        // The new version's runner notes its change before it starts, as ever: its last line is the refusal.
        const last = refused[0]!.stderr.trimEnd().split('\n').at(-1)!
        assert.equal(refused[0]!.code, 2, output(refused[0]!))
        assert.match(
          last,
          /^evolve: .*001_count\.ts is not the code its run is being served with: .*give every runner the same file/,
          output(refused[0]!),
        )
        const histogram = await counterHistogram(db.knex)
        // Keys 1..50 by the first version before the kill; 51..100 by whichever runner served.
        assert.ok(
          JSON.stringify(histogram) === JSON.stringify({ 1: ROWS }) || JSON.stringify(histogram) === JSON.stringify({ 1: 50, 2: 50 }),
          JSON.stringify(histogram),
        )
      } finally {
        if (!holder.isCompleted()) await holder.rollback()
      }
    }))
})
