// Poison rows: a row whose transform throws is recorded as failed (an `up` batch that fails for
// good is split until the failing rows stand alone); the rest of the run completes, and
// `evolve retry` re-drives only them.
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { output, runCli, spawnCli, statusJson } from './helpers/cli.ts'
import { dialects, fresh, withDb } from './helpers/databases.ts'
import {
  countBatches,
  createUsers,
  failureRows,
  migrationSource,
  newEmail,
  oldEmail,
  rowsOf,
  runRow,
  waitUntil,
  writeFiles,
} from './helpers/fixtures.ts'

// `up` that counts its calls per row and throws on rows flagged bad (after counting, so a
// rolled-back attempt shows as 0).
const COUNT_UP = `{
  table: 'users',
  async up(rows, { trx }) {
    await trx('users').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
    const bad = rows.find((r) => r.bad)
    if (bad) throw new Error('poison row ' + bad.id)
  },
}`

// Holds every batch back while a file named "hold" lies next to it.
const HOLD_CONFIG = `import fs from 'node:fs'
import { defineConfig } from 'evolvekit'
export default defineConfig({
  throttle: async () => fs.existsSync(new URL('./hold', import.meta.url)) && { reason: 'held by the test', ms: 100 },
})
`

const COUNT = 2000
const POISON = [137, 1000, 1874]
const isPoison = (id: number) => POISON.includes(id)

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('poison rows are isolated and listed by failures, the rest evolve, and retry finishes them once fixed', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: COUNT, pending: () => true, bad: isPoison })
        const dir = await writeFiles({
          '001_lower.ts': migrationSource(`{
            table: 'users',
            pending: (q) => q.whereRaw('email <> lower(email)'),
            transform: (row) => {
              if (row.bad) throw new Error('cannot evolve user ' + row.id + ': flagged bad')
              return { email: row.email.toLowerCase() }
            },
          }`),
        })
        const cli = (...args: string[]) => runCli([...args, '--db', db.url, '--dir', dir])

        const run = await cli('run')
        assert.equal(run.code, 1, output(run))
        assert.equal((await runRow(db.knex, '001_lower'))?.state, 'failed')
        // A transform's throw names its row: the row is recorded, its batch is not split.
        assert.equal(await countBatches(db.knex, '001_lower', { state: 'split' }), 0, 'no batch was split')

        const listed = await cli('failures', '001_lower', '--json')
        assert.equal(listed.code, 0, output(listed))
        const failures = (JSON.parse(listed.stdout) as { failures: { key: number; error: string; attempts: number }[] }).failures.sort(
          (a, b) => a.key - b.key,
        )
        assert.deepEqual(
          failures.map((f) => f.key),
          POISON,
        )
        for (const f of failures) {
          assert.match(f.error, new RegExp(`cannot evolve user ${f.key}: flagged bad`))
          assert.ok(f.attempts >= 1, `attempts ${f.attempts}`)
        }
        for (const row of await rowsOf(db.knex, 'users')) {
          const id = row.id as number
          assert.equal(row.email, isPoison(id) ? oldEmail(id) : newEmail(id), `row ${id}`)
        }

        await db.knex('users').whereIn('id', POISON).update({ bad: false })
        const retry = await cli('retry', '001_lower')
        assert.equal(retry.code, 0, output(retry))
        assert.equal((await runRow(db.knex, '001_lower'))?.state, 'done')
        assert.deepEqual(await failureRows(db.knex, '001_lower'), [])
        for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.email, newEmail(row.id as number), `row ${row.id}`)
        assert.equal((await statusJson('001_lower', ['--db', db.url, '--dir', dir])).state, 'done')
      }))

    it('retry touches only the failed rows, and every row is evolved exactly once in the end', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: COUNT, bad: isPoison })
        // No `pending`: every row once. The counter is bumped before the poison check, so a
        // failed batch's rollback is visible too (poison rows stay at 0 until the retry).
        const dir = await writeFiles({
          '001_count.ts': migrationSource(`{
            table: 'users',
            async up(rows, { trx }) {
              await trx('users').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
              const bad = rows.find((r) => r.bad)
              if (bad) throw new Error('poison row ' + bad.id)
            },
          }`),
        })
        const cli = (...args: string[]) => runCli([...args, '--db', db.url, '--dir', dir])

        const run = await cli('run')
        assert.equal(run.code, 1, output(run))
        assert.deepEqual(
          (await failureRows(db.knex, '001_count')).map((f) => f.key),
          POISON,
        )
        for (const row of await rowsOf(db.knex, 'users')) {
          assert.equal(row.counter, isPoison(row.id as number) ? 0 : 1, `row ${row.id} after the run`)
        }

        await db.knex('users').whereIn('id', POISON).update({ bad: false })
        const retry = await cli('retry', '001_count')
        assert.equal(retry.code, 0, output(retry))
        assert.equal((await runRow(db.knex, '001_count'))?.state, 'done')
        for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.counter, 1, `row ${row.id} after the retry`)

        const again = await cli('retry', '001_count')
        assert.equal(again.code, 2, output(again))
        const lines = again.stderr.trimEnd().split('\n')
        assert.equal(lines.length, 1, again.stderr)
        assert.match(lines[0]!, /^evolve: .*001_count.*no failed objects/)
        for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.counter, 1, `row ${row.id} after the refused retry`)
      }))

    it('a retry interrupted before its batches ran and started again evolves each failed row once, not twice', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 300, bad: isPoison })
        const cwd = await writeFiles({ 'evolve.config.ts': HOLD_CONFIG, 'migrations/001_count.ts': migrationSource(COUNT_UP) })
        const cli = (...args: string[]) => runCli([...args, '--db', db.url], { cwd })
        assert.equal((await cli('run')).code, 1)
        assert.deepEqual(
          (await failureRows(db.knex, '001_count')).map((f) => f.key),
          [137],
        )
        await db.knex('users').where({ id: 137 }).update({ bad: false })

        // The first retry queues its batch, then waits on the throttle; it dies there.
        await writeFiles({ hold: '' }, cwd)
        const first = spawnCli(['retry', '001_count', '--db', db.url], { cwd })
        await waitUntil(
          'the first retry to queue its batch',
          async () =>
            (await runRow(db.knex, '001_count'))?.state === 'running' && (await countBatches(db.knex, '001_count', { phase: 'retry' })) > 0,
        )
        await first.kill('SIGKILL')
        await rm(path.join(cwd, 'hold'))

        const second = await cli('retry', '001_count')
        assert.equal(second.code, 0, output(second))
        assert.equal(
          await countBatches(db.knex, '001_count', { phase: 'retry' }),
          1,
          'the second retry served the batch the first queued for row 137',
        )
        assert.equal((await runRow(db.knex, '001_count'))?.state, 'done')
        for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.counter, 1, `row ${row.id}`)
        assert.deepEqual(await failureRows(db.knex, '001_count'), [])
      }))

    it('retry refuses a paused run and leaves it paused, and a database without runs gets no tracking tables', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 300, bad: isPoison })
        const cwd = await writeFiles({ 'evolve.config.ts': HOLD_CONFIG, 'migrations/001_count.ts': migrationSource(COUNT_UP) })
        const cli = (...args: string[]) => runCli([...args, '--db', db.url], { cwd })

        const untracked = await cli('retry', '001_count')
        assert.equal(untracked.code, 2, output(untracked))
        assert.match(untracked.stderr, /^evolve: migration "001_count" has not run yet: nothing to retry; `evolve run 001_count` runs it$/m)
        assert.equal(await db.knex.schema.hasTable('evolve_runs'), false, 'no tracking tables were created')

        // A retry in progress (held by the throttle) that an operator pauses.
        assert.equal((await cli('run')).code, 1)
        await writeFiles({ hold: '' }, cwd)
        const first = spawnCli(['retry', '001_count', '--db', db.url], { cwd })
        await waitUntil(
          'the first retry to queue its batch',
          async () =>
            (await runRow(db.knex, '001_count'))?.state === 'running' && (await countBatches(db.knex, '001_count', { phase: 'retry' })) > 0,
        )
        assert.equal((await cli('pause', '001_count')).code, 0)
        await first.kill('SIGKILL')

        const refused = await cli('retry', '001_count')
        assert.equal(refused.code, 2, output(refused))
        assert.equal(refused.stderr.trim(), 'evolve: migration "001_count" is paused: `evolve resume 001_count` first, then retry')
        assert.equal((await runRow(db.knex, '001_count'))?.state, 'paused')
        assert.equal(await countBatches(db.knex, '001_count', { phase: 'retry' }), 1, 'nothing more was queued')
        assert.equal((await db.knex('users').where({ id: 137 }).first()).counter, 0, 'the failed row was not evolved')
      }))

    it('rows a migration leaves pending count toward maxFailures', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: COUNT, pending: () => true })
        // Changes the name but not the e-mail, so every row still matches pending after it.
        const dir = await writeFiles({
          '001_stuck.ts': migrationSource(`{
            table: 'users',
            pending: (q) => q.whereRaw('email <> lower(email)'),
            maxFailures: 5,
            transform: (row) => ({ name: row.name + '!' }),
          }`),
        })
        const run = await runCli(['run', '--db', db.url, '--dir', dir, '--batch-size', '100'])
        assert.equal(run.code, 1, output(run))
        const state = await runRow(db.knex, '001_stuck')
        assert.equal(state?.state, 'failed')
        assert.match(state?.lastError ?? '', /maxFailures 5/)
        const failures = await failureRows(db.knex, '001_stuck')
        assert.ok(
          failures.length >= 5 && failures.length <= 100,
          `${failures.length} failures: the first sweep batch, not all ${COUNT} rows`,
        )
        assert.match(failures[0]!.error, /still matches "pending"/)
      }))

    it('a migration failing on every row stops after maxFailures instead of recording thousands', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: COUNT, pending: () => true })
        const maxFailures = 5
        const dir = await writeFiles({
          '001_broken.ts': migrationSource(`{
            table: 'users',
            pending: (q) => q.whereRaw('email <> lower(email)'),
            maxFailures: ${maxFailures},
            transform: (row) => { throw new Error('broken for ' + row.id) },
          }`),
        })

        const run = await runCli(['run', '--db', db.url, '--dir', dir])
        assert.equal(run.code, 1, output(run))
        // The run's own output says why it stopped, not only the status afterwards.
        assert.match(run.stdout, /001_broken: failed: stopped after \d+ failed objects \(maxFailures 5\)/)
        const state = await runRow(db.knex, '001_broken')
        assert.equal(state?.state, 'failed')
        assert.match(state?.lastError ?? '', /maxFailures/)
        const failures = await failureRows(db.knex, '001_broken')
        assert.ok(failures.length >= maxFailures && failures.length < 2 * maxFailures, `${failures.length} failures recorded`)
        const status = await statusJson('001_broken', ['--db', db.url, '--dir', dir])
        assert.equal(status.state, 'failed')
        assert.match(String(status.lastError), /maxFailures/)
        const untouched = await db.knex('users').whereRaw('email <> lower(email)').count({ n: '*' }).first()
        assert.equal(Number(untouched?.n), COUNT, 'no row was changed')
      }))
  })
}

describe('many failed objects', () => {
  it('more failed objects than SQLite takes bound parameters still let the run end, as failed, listing them all', async () => {
    const db = await fresh('sqlite')
    try {
      const count = 33_000
      await createUsers(db, { count, pending: () => true })
      const dir = await writeFiles({
        '001_stuck.ts': migrationSource(`{
          table: 'users',
          pending: (q) => q.whereRaw('email <> lower(email)'),
          maxFailures: 100000,
          sweeps: 1,
          transform: (row) => ({ name: row.name + '!' }),
        }`),
      })
      const run = await runCli(['run', '--db', db.url, '--dir', dir])
      assert.equal(run.code, 1, output(run))
      const state = await runRow(db.knex, '001_stuck')
      assert.equal(state?.state, 'failed')
      assert.equal(
        state?.lastError,
        `${count} objects failed: see \`evolve failures 001_stuck\`, fix the cause, then \`evolve retry 001_stuck\``,
      )
      const failed = await db.knex('evolve_failures').where({ run_name: '001_stuck' }).count({ n: '*' }).first()
      assert.equal(Number(failed?.n), count)
    } finally {
      await db.drop()
    }
  })
})
