// What snapshot mode refuses before anything changes (a migration it cannot run on a copy), that
// plan reports the same refusals, and --mode online running a snapshot-mode file in place.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { openEvolve } from '../lib/index.ts'
import { output, runCli } from './helpers/cli.ts'
import { dialects, runnerKnex, withDb } from './helpers/databases.ts'
import { createUsers, migrationSource, rowsOf, tableNames, trackingTables, writeFiles } from './helpers/fixtures.ts'

const UP = `{
  table: 'users',
  up: async (rows, { trx }) => {
    for (const r of rows) await trx('users').where({ id: r.id }).update({ email: r.email.toLowerCase() })
  },
}`

for (const d of dialects) {
  describe(`snapshot mode on ${d}`, () => {
    it('refuses an up migration (it writes the live table by name) in one line, from the file or --mode snapshot, and changes nothing', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 30 })
        const before = await rowsOf(db.knex, 'users')
        const inFile = await writeFiles({
          '001_up.ts': migrationSource(UP.replace("table: 'users',", "table: 'users', mode: 'snapshot',")),
        })
        const plain = await writeFiles({ '001_up.ts': migrationSource(UP) })
        for (const args of [
          ['--dir', inFile],
          ['--dir', plain, '--mode', 'snapshot'],
        ]) {
          const result = await runCli(['run', '--db', db.url, ...args])
          assert.equal(result.code, 2, output(result))
          assert.match(
            result.stderr.trimEnd(),
            /^evolve: [^\n]*001_up\.ts: snapshot mode evolves a copy of "users", but `up` writes tables by name[^\n]*`transform` or `set`[^\n]*$/,
          )
        }
        assert.deepEqual(await rowsOf(db.knex, 'users'), before, 'the table as it was')
        assert.deepEqual(await tableNames(db), ['users'], 'no copy')
        assert.equal(Number((await db.knex('evolve_runs').count({ n: '*' }).first())?.n), 0, 'no run')
        await db.knex('users').where({ id: 1 }).update({ name: 'written after' }) // not read-only
      }))

    it('plan reports every refusal run makes (an up migration, a composite key), in its text and --json, from the file or --mode snapshot, and changes nothing', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 30 })
        await db.knex.schema.createTable('events', (t) => {
          t.string('region').notNullable()
          t.integer('seq').notNullable()
          t.integer('hits')
          t.primary(['region', 'seq'])
        })
        await db.knex('events').insert([1, 2, 3].map((seq) => ({ region: 'eu', seq, hits: seq })))
        const COMPOSITE = "{ table: 'events', key: ['region', 'seq'], transform: (row) => ({ hits: row.hits + 1 }) }"
        const snapshotIn = (spec: string) => spec.replace(/^\{ ?/, "{ mode: 'snapshot', ")
        const cases = [
          { file: '001_up', spec: UP, kinds: ['migration'], refusal: /`up` writes tables by name/ },
          { file: '002_composite', spec: COMPOSITE, kinds: ['key'], refusal: /single-column key, not region, seq/ },
        ]
        const runs: { args: string[]; fix: string }[] = []
        for (const c of cases) {
          const inFile = await writeFiles({ [`${c.file}.ts`]: migrationSource(snapshotIn(c.spec)) })
          const plain = await writeFiles({ [`${c.file}.ts`]: migrationSource(c.spec) })
          for (const args of [
            ['--dir', inFile],
            ['--dir', plain, '--mode', 'snapshot'],
          ]) {
            const json = await runCli(['plan', '--json', '--db', db.url, ...args])
            assert.equal(json.code, 0, output(json))
            const [plan] = JSON.parse(json.stdout) as { snapshot?: { refused: { kind: string; fix: string }[] } }[]
            const refused = plan?.snapshot?.refused ?? []
            assert.deepEqual(
              refused.map((r) => r.kind),
              c.kinds,
              `${c.file} ${args.join(' ')}: ${json.stdout}`,
            )
            assert.match(refused[0]!.fix, c.refusal)
            const text = await runCli(['plan', '--db', db.url, ...args])
            assert.equal(text.code, 0, output(text))
            assert.match(text.stdout, new RegExp(`REFUSED ${c.kinds[0]} [^\n]*${c.refusal.source}`))
            assert.match(text.stdout, /snapshot: refused \(1\): `evolve run` stops on it before changing anything/)
            runs.push({ args, fix: refused[0]!.fix })
          }
        }
        assert.deepEqual(await trackingTables(db), [], 'plan created no tracking tables')

        // The library's plan reports the same.
        const dir = await writeFiles({ '002_composite.ts': migrationSource(COMPOSITE) })
        const knex = runnerKnex(db)
        const evolve = await openEvolve({ knex, migrations: dir })
        try {
          const [plan] = await evolve.plan([], { mode: 'snapshot' })
          assert.deepEqual(
            plan?.snapshot?.refused.map((r) => r.kind),
            ['key'],
          )
        } finally {
          await evolve.close()
          await knex.destroy()
        }
        assert.deepEqual(await trackingTables(db), [], 'the library plan created no tracking tables')

        // run refuses with the very refusal plan showed
        for (const { args, fix } of runs) {
          const run = await runCli(['run', '--db', db.url, ...args])
          assert.equal(run.code, 2, output(run))
          assert.ok(run.stderr.includes(fix), `run's refusal is plan's (${fix}): ${run.stderr}`)
        }
        assert.deepEqual(await tableNames(db), ['events', 'users'], 'no copy')
      }))

    it('--mode online runs a snapshot-mode file in place: no copy, no swap, the rows evolved', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 30 })
        const dir = await writeFiles({
          '001_lower.ts': migrationSource(
            "{ table: 'users', mode: 'snapshot', columns: ['email'], pending: (q) => q.whereRaw('email <> lower(email)'), transform: (row) => ({ email: row.email.toLowerCase() }) }",
          ),
        })
        const plan = await runCli(['plan', '--db', db.url, '--dir', dir, '--mode', 'online'])
        assert.equal(plan.code, 0, output(plan))
        assert.match(plan.stdout, /001_lower \(transform mode on users/)
        assert.doesNotMatch(plan.stdout, /preflight|extra disk/i)
        const result = await runCli(['run', '--db', db.url, '--dir', dir, '--mode', 'online'])
        assert.equal(result.code, 0, output(result))
        assert.deepEqual(await tableNames(db), ['users'], 'no copy and no backup: evolved in place')
        assert.equal(Number((await db.knex('evolve_snapshots').count({ n: '*' }).first())?.n), 0)
        for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.email, String(row.email).toLowerCase())
      }))
  })
}
