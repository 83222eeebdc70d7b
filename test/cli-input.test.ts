// Bad input found by the CLI's commands (a latency probe the database refuses, a --metrics-port that is no port, a migrations
// directory that does not exist, as the library says it too) and what `plan`
// says of an empty migrations directory: one `evolve:` line and exit 2 for a mistake, and
// nothing changed.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { openEvolve } from '../lib/index.ts'
import { assertRefused, assertUsageError, output, runCli } from './helpers/cli.ts'
import { dialects, withDb } from './helpers/databases.ts'
import { createItems, makeProject, rowsOf, setMigration, trackingTables, writeFiles } from './helpers/fixtures.ts'

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('a latencyProbe the database refuses is a usage error naming the probe and the database message, and no run starts', () =>
      withDb(d, async (db) => {
        await createItems(db.knex, 50)
        const before = await rowsOf(db.knex, 'items')
        const project = await makeProject(db, setMigration(10), {
          config: "latencyProbe: 'select nonsense from nowhere', maxAppLatencyMs: 100,",
        })
        const result = await runCli(['run'], { cwd: project.dir })
        const refused = d === 'postgres' ? 'relation "nowhere" does not exist' : 'no such table: nowhere'
        assertUsageError(result, [`latencyProbe "select nonsense from nowhere" failed: ${refused} — fix the query in the config`])
        assert.deepEqual(await trackingTables(db), [], 'no tracking tables were created: no run was started')
        assert.deepEqual(await rowsOf(db.knex, 'items'), before, 'the data is unchanged')
      }))

    it('plan with an empty migrations directory says so and how to create one, as status and run do', () =>
      withDb(d, async (db) => {
        assert.deepEqual(await trackingTables(db), []) // connecting creates the SQLite file --db names
        const dir = await writeFiles({})
        const flags = ['--db', db.url, '--dir', dir]
        const plan = await runCli(['plan', ...flags])
        assert.equal(plan.code, 0, output(plan))
        const status = await runCli(['status', ...flags])
        assert.equal(status.code, 0, output(status))
        assert.equal(plan.stdout, `no migrations in ${dir}: create one with \`evolve create <name>\`\n`)
        assert.equal(plan.stdout, status.stdout, 'plan says what status says')
        assert.equal(plan.stderr, '')
        assert.deepEqual(await trackingTables(db), [], 'plan changed nothing')
      }))

    it('a migrations directory that does not exist is named with the fix in the words of the caller: --dir on the CLI, openEvolve({ dir }) in the library', () =>
      withDb(d, async (db) => {
        assert.deepEqual(await trackingTables(db), []) // connecting creates the SQLite file --db names
        const gone = `${await writeFiles({})}/gone`
        assertUsageError(await runCli(['plan', '--db', db.url, '--dir', gone]), [
          `migrations directory ${gone} does not exist: create it with \`evolve init\` or pass --dir`,
        ])
        const evolve = await openEvolve({ db: db.url, dir: gone, env: {} })
        try {
          await assertRefused(
            evolve.status(),
            'E_NO_MIGRATIONS_DIR',
            /does not exist: create it, or pass the directory your migration files are in \(openEvolve\(\{ dir \}\), or \{ knex, migrations \}\)$/,
          )
          await assertRefused(evolve.status(), 'E_NO_MIGRATIONS_DIR', /^(?!.*--dir)/)
        } finally {
          await evolve.close()
        }
        const withKnex = await openEvolve({ knex: db.knex, migrations: gone })
        await assertRefused(withKnex.plan(), 'E_NO_MIGRATIONS_DIR', /openEvolve\(\{ dir \}\), or \{ knex, migrations \}\)$/)
      }))
  })
}

describe('--metrics-port', () => {
  it('a port out of 0-65535 (or not a number) is refused up front in one line, exit 2, before any run starts', () =>
    withDb('sqlite', async (db) => {
      await createItems(db.knex, 10)
      const dir = await writeFiles({ '001_bump.ts': setMigration(5) })
      for (const bad of ['99999', '-1', '80.5', 'http']) {
        const result = await runCli(['run', '--db', db.url, '--dir', dir, '--metrics-port', bad])
        assertUsageError(result, ['--metrics-port', `takes a port, a whole number 0-65535`, `got "${bad}"`])
        assert.doesNotMatch(result.stderr, /options\.port|Received type/, 'not node’s own message')
      }
      assert.deepEqual(await trackingTables(db), [], 'no run was started')
    }))

  it('0 serves on any free port and says which on stderr', () =>
    withDb('sqlite', async (db) => {
      await createItems(db.knex, 10)
      const dir = await writeFiles({ '001_bump.ts': setMigration(5) })
      const result = await runCli(['run', '--db', db.url, '--dir', dir, '--metrics-port', '0'])
      assert.equal(result.code, 0, output(result))
      assert.match(result.stderr, /^evolve: metrics at http:\/\/0\.0\.0\.0:[1-9]\d*\/metrics$/m)
    }))
})

describe('a misspelt field of evolve.config.*', () => {
  it('is named with the field it likely meant, and batchsize with where a batch size is set', async () => {
    const config = (extra: Record<string, unknown>) =>
      JSON.stringify({ client: 'better-sqlite3', connection: { filename: './app.db' }, ...extra })
    for (const [extra, says] of [
      [{ maxbatchsize: 500 }, 'unknown field "maxbatchsize": did you mean "maxBatchSize"?'],
      [{ targetBatchMS: 50 }, 'unknown field "targetBatchMS": did you mean "targetBatchMs"?'],
      [{ migrations: { directry: 'm' } }, 'unknown field "migrations.directry": did you mean "directory"?'],
      [
        { batchsize: 500 },
        'unknown field "batchsize": a config file bounds the batch size (minBatchSize, maxBatchSize); fix it with batchSize in the migration file, or --batch-size',
      ],
    ] as const) {
      const cwd = await writeFiles({ 'evolve.config.json': config(extra) })
      assertUsageError(await runCli(['status'], { cwd }), ['evolve.config.json', says])
    }
  })
})
