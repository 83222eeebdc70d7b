// Several workers, in one process or in several `evolve run` processes, serving one run.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { type RunningCli, skewedClock, spawnCli } from './helpers/cli.ts'
import { fresh, type FreshDatabase } from './helpers/databases.ts'
import {
  type BatchRow,
  batchRows,
  claimOwners,
  counterHistogram,
  createItems,
  makeProject,
  type Project,
  upMigration,
  waitUntil,
  workerIdsOfPid,
} from './helpers/fixtures.ts'

const GATE = 'gate.flag'

/**
 * A project whose batches past key `afterKey` wait at a gate (inside their transaction) until
 * the test opens it: workers that joined late are then sure to hold a batch of their own.
 */
async function gatedProject(db: FreshDatabase, afterKey: number, sleepPerBatchMs: number): Promise<Project & { open(): Promise<void> }> {
  const project = await makeProject(db, (dir) => upMigration({ batchSize: 500, sleepPerBatchMs, gate: [path.join(dir, GATE), afterKey] }))
  await writeFile(path.join(project.dir, GATE), '')
  return { ...project, open: () => rm(path.join(project.dir, GATE)) }
}

/** Worker ids of an `evolve run` process, once it has registered one. */
function workersOf(db: FreshDatabase, cli: RunningCli): Promise<string[]> {
  return waitUntil(`workers of pid ${cli.child.pid}`, async () => {
    if (cli.child.exitCode !== null) throw new Error(`evolve run exited ${cli.child.exitCode}\n${cli.stdout}\n${cli.stderr}`)
    const ids = await workerIdsOfPid(db.knex, cli.child.pid!)
    return ids.length > 0 ? ids : undefined
  })
}

interface GateScenario {
  db: FreshDatabase
  project: Project
  firstIds: string[]
  lateIds: string[]
  /** The batch the first process holds at the gate when the late one starts. */
  held: BatchRow
}

/**
 * 200 rows on PostgreSQL in batches of 10. A first process (with `firstEnv`) does two batches
 * and waits at the gate with its third; `meanwhile` acts on it; a late process then joins
 * and waits at the gate with a batch of its own. `check` looks at that moment; then the
 * gate opens, both processes must exit 0, and every row must be evolved exactly once.
 * `afterwards` may look at the tracking tables then.
 */
async function firstAtGateThenLateJoiner(o: {
  firstEnv?: Record<string, string>
  meanwhile?: (db: FreshDatabase, firstIds: string[]) => Promise<void>
  check: (s: GateScenario) => Promise<void>
  /** After both exited, before the database is dropped. */
  afterwards?: (s: GateScenario) => Promise<void>
}): Promise<void> {
  const db = await fresh('postgres')
  const rows = 200
  await createItems(db.knex, rows)
  const project = await gatedProject(db, 20, 30)
  try {
    const args = ['run', ...project.flags, '--batch-size', '10']
    const first = spawnCli(args, { env: o.firstEnv })
    const firstIds = await workersOf(db, first)
    await waitUntil('the first process at the gate', async () =>
      (await claimOwners(db.knex, project.name, 20)).some((id) => firstIds.includes(id)),
    )
    const held = (await batchRows(db.knex, project.name)).find((x) => x.state === 'claimed' && firstIds.includes(x.owner!))!
    await o.meanwhile?.(db, firstIds)

    const late = spawnCli(args)
    const lateIds = await workersOf(db, late)
    await waitUntil('the late process at the gate', async () =>
      (await claimOwners(db.knex, project.name, 20)).some((id) => lateIds.includes(id)),
    )
    const scenario = { db, project, firstIds, lateIds, held }
    await o.check(scenario)

    await project.open()
    const [r1, r2] = await Promise.all([first.exited, late.exited])
    assert.equal(r1.code, 0, r1.stderr)
    assert.equal(r2.code, 0, r2.stderr)
    assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
    await o.afterwards?.(scenario)
  } finally {
    await project.cleanup()
    await db.drop()
  }
}

/** At the gate: the first process still holds its batch, nobody took it over. */
async function firstKeepsItsClaim({ db, project, firstIds, held }: GateScenario): Promise<void> {
  const now = (await batchRows(db.knex, project.name)).find((x) => x.id === held.id)!
  assert.equal(now.state, 'claimed')
  assert.ok(firstIds.includes(now.owner!), 'the first worker is alive: its claim stays')
}

// The PostgreSQL and SQLite suites mostly wait on child processes: they run side by side.
describe('workers serving one run', { concurrency: 2 }, () => {
  describe('several evolve run processes on one PostgreSQL run', { concurrency: 1 }, () => {
    it('finish the run with every row evolved exactly once after one of three is killed with -9 mid-batch', async () => {
      const db = await fresh('postgres')
      const rows = 300
      await createItems(db.knex, rows)
      const project = await gatedProject(db, 20, 30)
      try {
        const args = ['run', ...project.flags, '--batch-size', '10']
        const [a, b, victim] = [spawnCli(args), spawnCli(args), spawnCli(args)]
        const [idsA, idsB, idsVictim] = await Promise.all([a, b, victim].map((p) => workersOf(db, p)))

        // Every process holds a batch at the gate; the victim dies holding its own.
        const held = await waitUntil('a claim held by each process', async () => {
          const owners = await claimOwners(db.knex, project.name, 20)
          return [idsA, idsB, idsVictim].every((ids) => owners.some((o) => ids!.includes(o))) ? owners : undefined
        })
        const victimClaim = (await batchRows(db.knex, project.name)).find((x) => x.state === 'claimed' && idsVictim.includes(x.owner!))!
        assert.ok(held.includes(victimClaim.owner!))
        const killed = await victim.kill('SIGKILL')
        assert.equal(killed.signal, 'SIGKILL')
        await project.open()

        const [ra, rb] = await Promise.all([a.exited, b.exited])
        assert.equal(ra.code, 0, `survivor a: ${ra.stdout}\n${ra.stderr}`)
        assert.equal(rb.code, 0, `survivor b: ${rb.stdout}\n${rb.stderr}`)

        assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
        const all = await batchRows(db.knex, project.name)
        assert.deepEqual(
          all.filter((x) => x.state !== 'done'),
          [],
          'every batch ends done',
        )
        assert.equal(
          all.reduce((sum, x) => sum + x.rows, 0),
          rows,
        )
        const owners = new Set(all.map((x) => x.owner))
        assert.ok(owners.size >= 2, `done batches come from ${owners.size} owner(s)`)
        assert.ok(all.some((x) => idsA.includes(x.owner!)) && all.some((x) => idsB.includes(x.owner!)), 'both survivors did batches')
        // The batch the victim held when it died was taken over and finished by a survivor.
        const takenOver = all.find((x) => x.id === victimClaim.id)!
        assert.equal(takenOver.state, 'done')
        assert.ok(!idsVictim.includes(takenOver.owner!), 'the dead worker’s claim was finished by another worker')
        const run = await db.knex('evolve_runs').where({ name: project.name }).first()
        assert.equal(run.state, 'done')
      } finally {
        await project.cleanup()
        await db.drop()
      }
    })

    it('leave alone the claim of a live worker whose pid this host cannot see (same host name, another pid namespace)', async () => {
      await firstAtGateThenLateJoiner({
        // What a container with host networking looks like from its neighbour: the same host
        // name, and a pid that does not exist here (above Linux's largest pid_max, 2^22).
        meanwhile: (db, firstIds) =>
          db
            .knex('evolve_workers')
            .whereIn('id', firstIds)
            .update({ pid: 2 ** 22 + 1 }),
        check: firstKeepsItsClaim,
      })
    })

    it('take the advisory locks again after losing the presence connection, so a live worker keeps its claim', async () => {
      // The backend holding a worker's advisory lock (class 0x45564f, as lib/dialects/postgres/presence.ts takes it).
      const lockHolder = async (db: FreshDatabase, id: string): Promise<number | undefined> => {
        const { rows: found } = await db.knex.raw(
          `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ${0x45564f} AND objid = hashtext(?)::oid`,
          [id],
        )
        return found[0]?.pid
      }
      await firstAtGateThenLateJoiner({
        meanwhile: async (db, [id]) => {
          const before = await waitUntil('the first worker’s lock', () => lockHolder(db, id!))
          await db.knex.raw('SELECT pg_terminate_backend(?)', [before])
          await waitUntil('the lock taken again on a new connection', async () => {
            const pid = await lockHolder(db, id!)
            return pid !== undefined && pid !== before
          })
        },
        check: firstKeepsItsClaim,
      })
    })

    it('judge heartbeats by the database clock, so a live worker on a host whose clock runs a minute behind keeps its claim', async () => {
      await firstAtGateThenLateJoiner({
        firstEnv: skewedClock(-60_000),
        check: firstKeepsItsClaim,
      })
    })

    it('let a process started mid-run join and take a share of the batches', async () => {
      await firstAtGateThenLateJoiner({
        // The first process did two batches and waits at the gate with its third.
        check: async ({ db, project }) => {
          assert.equal((await batchRows(db.knex, project.name)).filter((x) => x.state === 'done').length, 2)
        },
        afterwards: async ({ db, project, firstIds, lateIds }) => {
          const done = (await batchRows(db.knex, project.name)).filter((x) => x.state === 'done')
          assert.ok(
            done.some((x) => lateIds.includes(x.owner!)),
            'the late process finished some batches',
          )
          assert.ok(
            done.some((x) => firstIds.includes(x.owner!)),
            'the first process kept its share',
          )
        },
      })
    })

    it('run three workers in one process with --workers 3, each row evolved exactly once', async () => {
      const db = await fresh('postgres')
      const rows = 200
      await createItems(db.knex, rows)
      const project = await gatedProject(db, 0, 20)
      try {
        const run = spawnCli(['run', ...project.flags, '--batch-size', '10', '--workers', '3'])
        // Three claims at once: the three workers work side by side.
        await waitUntil('three batches claimed at the gate', async () => new Set(await claimOwners(db.knex, project.name)).size === 3)
        await project.open()
        const result = await run.exited
        assert.equal(result.code, 0, result.stderr)

        const ids = await workerIdsOfPid(db.knex, run.child.pid!)
        assert.equal(ids.length, 3, 'one process registered three workers')
        const owners = new Set((await batchRows(db.knex, project.name)).filter((x) => x.state === 'done').map((x) => x.owner))
        assert.equal(owners.size, 3, `done batches come from ${owners.size} owner(s)`)
        assert.ok([...owners].every((o) => ids.includes(o!)))
        assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
      } finally {
        await project.cleanup()
        await db.drop()
      }
    })
  })

  describe('two evolve run processes on one SQLite file', () => {
    it('finish the run with every row evolved exactly once', async () => {
      const db = await fresh('sqlite')
      const rows = 200
      await createItems(db.knex, rows)
      const project = await makeProject(db, upMigration({ batchSize: 10, sleepPerBatchMs: 30 }))
      try {
        const args = ['run', ...project.flags, '--batch-size', '10']
        const [a, b] = [spawnCli(args), spawnCli(args)]
        const [ra, rb] = await Promise.all([a.exited, b.exited])
        assert.equal(ra.code, 0, `${ra.stdout}\n${ra.stderr}`)
        assert.equal(rb.code, 0, `${rb.stdout}\n${rb.stderr}`)
        assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
        const all = await batchRows(db.knex, project.name)
        assert.deepEqual(
          all.filter((x) => x.state !== 'done'),
          [],
          'every batch ends done',
        )
        assert.equal(
          all.reduce((sum, x) => sum + x.rows, 0),
          rows,
        )
      } finally {
        await project.cleanup()
        await db.drop()
      }
    })
  })
})
