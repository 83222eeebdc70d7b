// `evolve run` killed with SIGKILL (no cleanup, no goodbye) and started again: nothing is
// done twice, nothing skipped, and the next run takes the dead worker's batch over at once.
//
// Every kill lands inside a batch transaction: the migration parks its batch on a gate file
// (test/helpers/crash-fixtures.ts) after it has already written through ctx.trx, and prints a
// line; the test kills the child when it sees that line. Where the kills land is therefore
// exact (which batch, how many done before it) and does not depend on timing.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { type CliResult, runCli, spawnCli, statusJson } from './helpers/cli.ts'
import { dialects, fresh, type FreshDatabase } from './helpers/databases.ts'
import {
  type BatchRow,
  batchRows,
  counterHistogram,
  createItems,
  gateSource,
  gatedLowercaseMigration,
  heldLine,
  insertChunked,
  runRow,
  type Workspace,
  workspace,
} from './helpers/fixtures.ts'

const ROWS = 2000
const BATCH = 50
/** Far beyond RUN_DEFAULTS.leaseMs (15 s), the time a silent worker is trusted when nothing proves it dead. */
const LEASE_STAYS_FRESH_MS = 60 * 60_000

/** `up` mode, no `pending`: only the tracking table keeps a batch from being counted twice. */
function countingMigration(gateFile: string): string {
  return `import { defineMigration } from 'evolvekit'
${gateSource(gateFile)}
export default defineMigration({
  description: 'count every item exactly once',
  table: 'items',
  batchSize: ${BATCH},
  async up(rows, ctx) {
    const ids = rows.map((r) => r.id as number)
    await ctx.trx('items').whereIn('id', ids).increment('counter', 1)
    await gate(ids) // parked here, the increment is written but not committed
    await sleep(10)
  },
})
`
}

interface Kill {
  /** The batch the killed process had claimed and was inside of. */
  held: BatchRow
  /** Batches done when it was killed. */
  done: number
  result: CliResult
}

const runArgs = (db: FreshDatabase, ws: Workspace) => ['run', '--db', db.url, '--dir', ws.dir, '--batch-size', String(BATCH)]

/** Starts `evolve run`, waits until the batch holding `key` is parked mid-transaction, kill -9s it. */
async function runAndKillAt(db: FreshDatabase, ws: Workspace, name: string, key: number): Promise<Kill> {
  await ws.hold(key)
  const cli = spawnCli(runArgs(db, ws))
  await cli.waitFor(heldLine(key))
  const batches = await batchRows(db.knex, name)
  const claimed = batches.filter((b) => b.state === 'claimed')
  assert.equal(claimed.length, 1, `one batch in flight when killed: ${JSON.stringify(batches)}`)
  const held = claimed[0]!
  const lo = held.lo === null ? 0 : Number(JSON.parse(held.lo))
  const hi = Number(JSON.parse(held.hi!))
  assert.ok(lo < key && key <= hi, `the claimed batch (${lo}, ${hi}] is the one parked at key ${key}`)
  const result = await cli.kill('SIGKILL')
  assert.equal(result.signal, 'SIGKILL', `evolve run was killed, not finished:\n${result.stdout}\n${result.stderr}`)
  // As if the dead worker had beaten just now, and would go on looking fresh for the whole test:
  // its lease cannot run out, so only seeing that its process is gone lets the next run take over.
  const freshened = await db
    .knex('evolve_workers')
    .where({ id: held.owner })
    .update({ heartbeat_at: Date.now() + LEASE_STAYS_FRESH_MS })
  assert.equal(freshened, 1, 'the killed worker registered itself')
  return { held, done: batches.filter((b) => b.state === 'done').length, result }
}

/** Keys 1..upTo have `counter` 1, every other row 0. */
async function assertCountedUpTo(knex: Knex, upTo: number): Promise<void> {
  const expected: Record<number, number> = {}
  if (upTo > 0) expected[1] = upTo
  if (ROWS - upTo > 0) expected[0] = ROWS - upTo
  assert.deepEqual(await counterHistogram(knex), expected)
  const counted = await knex('items').where({ counter: 1 }).max({ last: 'id' }).first()
  assert.equal(counted?.last === null || counted?.last === undefined ? 0 : Number(counted.last), upTo)
}

/**
 * The batch a killed process held was taken over by the next run: it says so, and the batch
 * ended done under another owner. The dead worker's heartbeat was kept fresh (see
 * runAndKillAt), so the takeover came from detecting the dead process, not from its lease
 * running out (which would have left the next run waiting until its timeout).
 */
function assertTakenOver(kill: Kill, next: CliResult, finalBatches: BatchRow[]): void {
  assert.match(next.stdout, new RegExp(`took over batch ${kill.held.id} from a dead worker`))
  const now = finalBatches.find((b) => b.id === kill.held.id)!
  assert.equal(now.state, 'done')
  assert.notEqual(now.owner, kill.held.owner)
}

for (const d of dialects) {
  describe(`evolve run killed with SIGKILL on ${d}`, () => {
    it('counts every row exactly once after kills at the start, after two batches and mid-run', async () => {
      const db = await fresh(d)
      const ws = await workspace()
      try {
        await createItems(db.knex, ROWS)
        const name = await ws.migration('001_count-items', countingMigration(ws.gateFile))

        // 1. Right at the start: the first batch has incremented its rows, nothing is done yet.
        const first = await runAndKillAt(db, ws, name, 1)
        assert.equal(first.done, 0)
        await assertCountedUpTo(db.knex, 0) // the killed batch's increments were rolled back

        // 2. Resumed, two batches later (the first one taken over), killed inside the third.
        const second = await runAndKillAt(db, ws, name, 2 * BATCH + 1)
        assert.equal(second.done, 2)
        assert.notEqual(second.held.id, first.held.id)
        await assertCountedUpTo(db.knex, 2 * BATCH)

        // 3. Resumed again and killed mid-run, inside the batch holding key 1001.
        const third = await runAndKillAt(db, ws, name, ROWS / 2 + 1)
        assert.equal(third.done, ROWS / 2 / BATCH)
        await assertCountedUpTo(db.knex, ROWS / 2)

        // 4. Run to the end.
        await ws.open()
        const last = await runCli(runArgs(db, ws))
        assert.equal(last.code, 0, `evolve run finished:\n${last.stdout}\n${last.stderr}`)

        await assertCountedUpTo(db.knex, ROWS) // every counter exactly 1: none 0, none 2
        assert.equal((await runRow(db.knex, name))?.state, 'done')
        const batches = await batchRows(db.knex, name)
        assert.deepEqual(
          batches.filter((b) => b.state !== 'done'),
          [],
          'every batch ended done (no claim left behind by a killed worker)',
        )
        assert.equal(
          batches.reduce((sum, b) => sum + b.rows, 0),
          ROWS,
          'the done batches account for every row once',
        )
        assertTakenOver(first, second.result, batches)
        assertTakenOver(second, third.result, batches)
        assertTakenOver(third, last, batches)

        const entry = await statusJson(name, ['--db', db.url, '--dir', ws.dir])
        assert.equal(entry?.state, 'done')
        assert.equal(entry?.done, ROWS)
        assert.equal(entry?.failed, 0)
        assert.equal(entry?.remaining, 0)
      } finally {
        await db.drop()
        await ws.cleanup()
      }
    })

    it('transforms every row when a transform migration with pending is killed mid-run', async () => {
      const db = await fresh(d)
      const ws = await workspace()
      try {
        await db.knex.schema.createTable('users', (t) => {
          t.increments('id')
          t.string('email').notNullable()
        })
        await insertChunked(
          db.knex,
          'users',
          Array.from({ length: ROWS }, (_, i) => ({ email: `User.${i + 1}@Example.COM` })),
        )
        const name = await ws.migration('001_lowercase-emails', gatedLowercaseMigration(ws.gateFile, { sleepMs: 10, batchSize: BATCH }))

        const kill = await runAndKillAt(db, ws, name, ROWS / 2 + 1)
        assert.equal(kill.done, ROWS / 2 / BATCH)
        const upper = await db.knex('users').whereRaw('email <> lower(email)').min({ first: 'id' }).count({ n: '*' }).first()
        assert.deepEqual(
          { first: Number(upper?.first), n: Number(upper?.n) },
          { first: ROWS / 2 + 1, n: ROWS / 2 },
          'the first half is transformed, the killed batch and everything after it is not',
        )

        await ws.open()
        const resumed = await runCli(runArgs(db, ws))
        assert.equal(resumed.code, 0, `evolve run finished:\n${resumed.stdout}\n${resumed.stderr}`)

        const rows: { id: number; email: string }[] = await db.knex('users').select('id', 'email').orderBy('id')
        assert.equal(rows.length, ROWS)
        const wrong = rows.filter((r) => r.email !== `user.${r.id}@example.com`)
        assert.deepEqual(wrong, [], 'every e-mail is its lower-cased original')
        assert.equal((await runRow(db.knex, name))?.state, 'done')
        const batches = await batchRows(db.knex, name)
        assertTakenOver(kill, resumed, batches)
        const entry = await statusJson(name, ['--db', db.url, '--dir', ws.dir])
        assert.equal(entry?.state, 'done')
        assert.equal(entry?.done, ROWS)
        assert.equal(entry?.failed, 0)
      } finally {
        await db.drop()
        await ws.cleanup()
      }
    })
  })
}
