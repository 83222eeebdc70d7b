// `evolve pause | resume | cancel <name>` from another process, against a live `evolve run`.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { type CliResult, runCli, type RunningCli, spawnCli, statusJson } from './helpers/cli.ts'
import { type Dialect, dialects, fresh, type FreshDatabase } from './helpers/databases.ts'
import {
  batchRows,
  claimOwners,
  countBatches,
  counterHistogram,
  createItems,
  makeProject,
  type Project,
  runRow,
  setMigration,
  upMigration,
  waitUntil,
} from './helpers/fixtures.ts'

const ROWS = 200
const GATE = 'gate.flag'
/** Batches run freely up to this key (5 batches of 10), then wait at the gate. */
const GATE_AFTER = 50

interface Steered extends Project {
  /** Starts `evolve run` on the project. */
  run(): RunningCli
  /** Resolves once the run's worker waits at the gate, after the free batches. */
  atGate(): Promise<void>
  /** Batches in flight while the worker waits at the gate: 1 on PostgreSQL, 0 on SQLite. */
  inFlightAtGate: number
  /** Deletes the gate: the rest of the run goes on, quickly. */
  open(): Promise<void>
}

/**
 * A run of 20 batches of 10 rows that cannot end before the test says so, however slow the
 * machine: after 5 batches its worker waits at a gate (a file) the test deletes.
 *
 * PostgreSQL: the 6th batch waits inside its transaction, so a pause or cancel lands while
 * that batch is in flight. SQLite: a batch holds the single write lock for its whole
 * transaction, so a control command could not commit meanwhile; there the worker waits
 * outside any batch, held back by a config throttle hook answering "hold" from its 6th call
 * while the gate exists.
 */
async function steeredProject(db: FreshDatabase): Promise<Steered> {
  if (db.dialect === 'postgres') {
    const project = await makeProject(db, (dir) => upMigration({ batchSize: 10, gate: [path.join(dir, GATE), GATE_AFTER] }))
    await writeFile(path.join(project.dir, GATE), '')
    return {
      ...project,
      run: () => spawnCli(['run', ...project.flags, '--batch-size', '10'], { cwd: project.dir }),
      atGate: async () => {
        await waitUntil('a batch waiting at the gate', async () => (await claimOwners(db.knex, project.name, GATE_AFTER)).length > 0)
      },
      inFlightAtGate: 1,
      open: () => rm(path.join(project.dir, GATE), { force: true }),
    }
  }
  const hook = `throttle: (() => {
    let calls = 0
    return () => (++calls > ${GATE_AFTER / 10} && fs.existsSync(new URL('./${GATE}', import.meta.url)) ? { reason: 'test gate', ms: 100 } : false)
  })(),`
  const project = await makeProject(db, upMigration({ batchSize: 10 }), { config: hook, bareConfig: true })
  await writeFile(path.join(project.dir, GATE), '')
  return {
    ...project,
    run: () => spawnCli(['run', '--batch-size', '10'], { cwd: project.dir }),
    atGate: async () => {
      await waitUntil('the worker held at the gate', async () => (await runRow(db.knex, project.name))?.throttleReason === 'test gate')
    },
    inFlightAtGate: 0,
    open: () => rm(path.join(project.dir, GATE), { force: true }),
  }
}

const stateOf = async (knex: Knex, name: string) => (await runRow(knex, name))?.state as string | undefined

async function claimedCount(knex: Knex, name: string): Promise<number> {
  return (await batchRows(knex, name)).filter((b) => b.state === 'claimed').length
}

/** A control command's success: exit 0 and `<name>: <state>` first on stdout. */
function assertControlOk(result: CliResult, name: string, state: string): void {
  assert.equal(result.code, 0, `stdout: ${result.stdout}\nstderr: ${result.stderr}`)
  assert.match(result.stdout, new RegExp(`^${name}: ${state}\\b`))
}

/** A control command's refusal: exit 2, one line on stderr, nothing on stdout. */
function assertUsageError(result: CliResult, pattern: RegExp): void {
  assert.equal(result.code, 2, `exit code of a refused transition\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
  assert.equal(result.stdout, '')
  const lines = result.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line: ${result.stderr}`)
  assert.match(lines[0]!, /^evolve: /)
  assert.match(lines[0]!, pattern)
}

/**
 * Done batches stay at `expected` and nothing is claimed, over a while: the run is not moving.
 * The sleeps are an observation window for an absence, which no condition can announce: a
 * busy machine can only make them miss a stray batch, never fail a run that behaves.
 */
async function assertStill(knex: Knex, name: string, expected: number, why: string): Promise<void> {
  await waitUntil('no batch in flight', async () => (await claimedCount(knex, name)) === 0)
  await sleep(500) // room for a claim that raced the pause to show
  assert.equal(await countBatches(knex, name, { state: 'done' }), expected, why)
  await sleep(1000)
  assert.equal(await countBatches(knex, name, { state: 'done' }), expected, why)
  assert.equal(await claimedCount(knex, name), 0, 'no batch claimed')
}

const FREE_BATCHES = GATE_AFTER / 10

function steeringTests(dialect: Dialect): void {
  it('pauses a live run from another process, keeps it paused across a runner restart, and finishes it exactly once after resume', async () => {
    const db = await fresh(dialect)
    await createItems(db.knex, ROWS)
    const project = await steeredProject(db)
    try {
      const first = project.run()
      await project.atGate()
      assert.equal(await countBatches(db.knex, project.name, { state: 'done' }), FREE_BATCHES)

      assertControlOk(await runCli(['pause', project.name, ...project.dbFlags]), project.name, 'paused')
      await project.open()
      // The batch in flight when the pause took effect finishes; no batch starts after it.
      const settled = FREE_BATCHES + project.inFlightAtGate
      const statusWhilePaused = statusJson(project.name, project.dbFlags, { cwd: project.dir })
      await assertStill(db.knex, project.name, settled, 'only the batch in flight finished after the pause')
      assert.equal(await stateOf(db.knex, project.name), 'paused')
      const status = await statusWhilePaused
      assert.equal(status.state, 'paused')
      assert.equal(status.workers, 1, 'the paused run keeps its worker')
      assert.equal(first.child.exitCode, null, 'the running process stays while paused')
      assert.equal(first.child.signalCode, null)

      // Restart while paused: the new runner joins and waits too.
      await first.kill('SIGKILL')
      const second = project.run()
      await second.waitFor('paused: waiting for `evolve resume`')
      await assertStill(db.knex, project.name, settled, 'the new runner does no batch while paused')
      assert.equal(await stateOf(db.knex, project.name), 'paused')
      assert.equal(second.child.exitCode, null, 'the new runner waits instead of exiting')

      assertControlOk(await runCli(['resume', project.name, ...project.dbFlags]), project.name, 'running')
      const result = await second.exited
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
      assert.equal(await stateOf(db.knex, project.name), 'done')
      assert.equal(await countBatches(db.knex, project.name, { state: 'done' }), ROWS / 10)
      assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })

  it('cancels a live run so its workers leave with consistent tracking, and a later evolve run completes it', async () => {
    const db = await fresh(dialect)
    await createItems(db.knex, ROWS)
    const project = await steeredProject(db)
    try {
      const run = project.run()
      await project.atGate()
      assertControlOk(await runCli(['cancel', project.name, ...project.dbFlags]), project.name, 'cancelled')
      await project.open()

      const result = await run.exited
      assert.equal(result.code, 1, `a cancelled run is not done\n${result.stdout}\n${result.stderr}`)
      assert.equal(await stateOf(db.knex, project.name), 'cancelled')
      const all = await batchRows(db.knex, project.name)
      assert.deepEqual(
        all.filter((b) => b.state === 'claimed'),
        [],
        'no claim is left behind',
      )
      // The batch in flight finished (or, had it been rolled back, would be pending again).
      const done = all.filter((b) => b.state === 'done')
      assert.equal(done.length, FREE_BATCHES + project.inFlightAtGate, 'no batch started after the cancel')
      const doneRows = done.reduce((s, b) => s + b.rows, 0)
      assert.deepEqual(await counterHistogram(db.knex), { 0: ROWS - doneRows, 1: doneRows }, 'rows evolved = rows of done batches')
      const workers = await db.knex('evolve_workers').whereNull('stopped_at')
      assert.deepEqual(workers, [], 'every worker said goodbye')

      const again = await project.run().exited
      assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`)
      assert.equal(await stateOf(db.knex, project.name), 'done')
      assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })
}

// The dialects' suites mostly wait on child processes: they run side by side.
describe('run control', { concurrency: 2 }, () => {
  for (const dialect of dialects) {
    describe(`on ${dialect}`, { concurrency: 1 }, () => {
      steeringTests(dialect)

      if (dialect === 'postgres') {
        // The transitions are checked in lib/api/control.ts, the same code for both dialects.
        it('refuses to pause an unknown or done run and to resume a running one, with exit 2 and one line', async () => {
          const db = await fresh(dialect)
          await createItems(db.knex, 50)
          // Two migrations: the first ends done, the second stays running (its first batch waits
          // at a gate) until its runner is killed.
          const project = await makeProject(db, setMigration(10), { name: '20260101000000_finished' })
          const interrupted = '20260101000001_interrupted'
          const gate = path.join(project.dir, GATE)
          await writeFile(path.join(project.migrationsDir, `${interrupted}.ts`), upMigration({ batchSize: 10, gate: [gate, 0] }))
          await writeFile(gate, '')
          try {
            const run = spawnCli(['run', ...project.flags])
            await waitUntil('the second migration at the gate', async () => (await claimOwners(db.knex, interrupted)).length > 0)
            await run.kill('SIGKILL')
            assert.equal(await stateOf(db.knex, project.name), 'done')
            assert.equal(await stateOf(db.knex, interrupted), 'running')

            const [unknown, done, running] = await Promise.all([
              runCli(['pause', 'no_such_migration', ...project.flags]),
              runCli(['pause', project.name, ...project.flags]),
              runCli(['resume', interrupted, ...project.flags]),
            ])
            assertUsageError(unknown, /no_such_migration/)
            assertUsageError(done, /done/)
            assert.equal(await stateOf(db.knex, project.name), 'done', 'the refused pause changed nothing')
            assertUsageError(running, /running/)
            assert.equal(await countBatches(db.knex, interrupted, { state: 'done' }), 0)
          } finally {
            await project.cleanup()
            await db.drop()
          }
        })
      } else {
        it('accepts a pause from another process while one-second batches hold the SQLite write lock back to back', async () => {
          const db = await fresh(dialect)
          await createItems(db.knex, ROWS)
          // Each batch sleeps 1 s inside its transaction: the runner holds the write lock but
          // for the few ms between two batches. A pause must still get through (it may wait for
          // the batch in flight).
          const project = await makeProject(db, upMigration({ batchSize: 10, sleepPerBatchMs: 1000 }))
          try {
            const run = spawnCli(['run', ...project.flags, '--batch-size', '10'])
            await waitUntil('a done batch', async () => (await countBatches(db.knex, project.name, { state: 'done' })) >= 1)
            // Three pauses, each against a batch in flight: every one must get through.
            for (let i = 0; i < 3; i++) {
              if (i > 0) {
                assertControlOk(await runCli(['resume', project.name, ...project.flags]), project.name, 'running')
                const before = await countBatches(db.knex, project.name, { state: 'done' })
                await waitUntil(
                  'the next batch in flight',
                  async () =>
                    (await claimedCount(db.knex, project.name)) > 0 ||
                    (await countBatches(db.knex, project.name, { state: 'done' })) > before,
                )
              }
              assertControlOk(await runCli(['pause', project.name, ...project.flags]), project.name, 'paused')
              assert.equal(await stateOf(db.knex, project.name), 'paused')
            }
            await run.kill('SIGKILL')
          } finally {
            await project.cleanup()
            await db.drop()
          }
        })
      }
    })
  }
})
