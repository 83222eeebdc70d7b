// The CLI as an operator meets it day to day: where `create` puts files, what status says
// about a run nobody serves, control commands against a busy SQLite file, piping output,
// and the library's own entry points used from a project directory.
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { EvolveNotDoneError, assertDone, loadMigrations } from '../lib/index.ts'
import { assertUsageError, output, repoRoot, runCli, spawnCli, statusJson } from './helpers/cli.ts'
import { fresh } from './helpers/databases.ts'
import {
  countBatches,
  createItems,
  makeProject,
  migrationSource,
  setMigration,
  tempDir,
  upMigration,
  waitUntil,
  writeFiles,
} from './helpers/fixtures.ts'

describe('scaffolding into the configured directory', { concurrency: true }, () => {
  it('create puts the file where the config file says migrations live, and status finds it', async () => {
    const cwd = await tempDir('evk-create-')
    await writeFiles({ 'app.db': '' }, cwd)
    assert.equal((await runCli(['init', '--db', 'sqlite:./app.db', '--dir', 'db/evolve'], { cwd })).code, 0)
    const created = await runCli(['create', 'lowercase-emails'], { cwd })
    assert.equal(created.code, 0, created.stderr)
    const files = readdirSync(path.join(cwd, 'db/evolve'))
    assert.equal(files.length, 1)
    assert.match(files[0]!, /^\d{14}_lowercase-emails\.ts$/)
    assert.ok(!existsSync(path.join(cwd, 'migrations')), 'nothing went to ./migrations')
    const status = await runCli(['status'], { cwd })
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /lowercase-emails/)
  })

  it('init --dir with an absolute path writes a config that later commands can use', async () => {
    const cwd = await tempDir('evk-init-abs-')
    const migrations = path.join(await tempDir('evk-abs-migrations-'), 'evolve')
    await writeFiles({ 'app.db': '' }, cwd)
    assert.equal((await runCli(['init', '--db', 'sqlite:./app.db', '--dir', migrations], { cwd })).code, 0)
    assert.equal((await runCli(['create', 'first'], { cwd })).code, 0)
    assert.equal(readdirSync(migrations).length, 1)
    const status = await runCli(['status'], { cwd })
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /first/)
  })

  it('run with no migrations says so, exits 0 and creates no tracking tables', async () => {
    const db = await fresh('sqlite')
    try {
      await createItems(db.knex, 1) // the file must exist
      const dir = await tempDir('evk-empty-')
      const run = await runCli(['run', '--db', db.url, '--dir', dir])
      assert.equal(run.code, 0, run.stderr)
      assert.match(run.stdout, /^no migrations in .*: create one with `evolve create <name>`/)
      assert.equal(await db.knex.schema.hasTable('evolve_runs'), false)
    } finally {
      await db.drop()
    }
  })
})

describe('what a command loads', () => {
  it('evolve --help starts without knex, the logger, the metrics library or the terminal UI', async () => {
    const trace = path.join(await tempDir('evk-trace-'), 'packages')
    const hook = pathToFileURL(path.join(repoRoot, 'test', 'helpers', 'trace-packages.mjs')).href
    const result = await runCli(['--help'], { env: { NODE_OPTIONS: `--import ${hook}`, EVK_TRACE_PACKAGES: trace } })
    assert.equal(result.code, 0, result.stderr)
    const loaded = new Set((await readFile(trace, 'utf8')).split('\n'))
    assert.ok(loaded.has('commander'), `the trace sees imports: ${[...loaded].join(' ')}`)
    for (const heavy of ['knex', 'pg', 'better-sqlite3', 'pino', 'prom-client', 'ink', 'react', 'fastify'])
      assert.ok(!loaded.has(heavy), `--help loaded ${heavy}`)
  })
})

describe('status of a run nobody serves', () => {
  it('after its only process was killed, says "running (no workers)" with no rate or ETA, and plan uses the batch size the run had', async () => {
    const db = await fresh('sqlite')
    await createItems(db.knex, 200)
    const project = await makeProject(db, upMigration({ batchSize: 10, sleepPerBatchMs: 50 }))
    try {
      const run = spawnCli(['run', ...project.flags, '--batch-size', '7'])
      await waitUntil('a few done batches', async () => (await countBatches(db.knex, project.name, { state: 'done' })) >= 3)
      await run.kill('SIGKILL')
      const json = await statusJson(project.name, project.dbFlags, { cwd: project.dir })
      assert.equal(json.state, 'running')
      assert.equal(json.workers, 0)
      assert.equal(json.rowsPerSecond, null)
      assert.equal(json.etaSeconds, null)
      const text = await runCli(['status', ...project.dbFlags], { cwd: project.dir })
      assert.match(text.stdout, /running \(no workers\)/)
      const plan = await runCli(['plan', '--json', ...project.dbFlags])
      assert.equal(plan.code, 0, plan.stderr)
      assert.equal((JSON.parse(plan.stdout) as { batchSize: number }[])[0]?.batchSize, 7, 'not the 10 the file says')
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })
})

describe('control commands and output', { concurrency: true }, () => {
  it('pause gets through while a long SQLite batch holds the write lock past busy_timeout', async () => {
    const db = await fresh('sqlite')
    await createItems(db.knex, 20)
    // Each batch writes first (taking the lock), then sleeps 7 s: longer than the 5 s busy_timeout.
    const project = await makeProject(
      db,
      `import { defineMigration } from 'evolvekit'

export default defineMigration({
  table: 'items',
  batchSize: 10,
  up: async (rows, { trx }) => {
    await trx('items').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
    await new Promise((resolve) => setTimeout(resolve, 7000))
  },
})
`,
    )
    try {
      const run = spawnCli(['run', ...project.flags, '--batch-size', '10'])
      await waitUntil('the first batch in flight', async () => {
        const claimed = await db
          .knex('evolve_batches')
          .where({ state: 'claimed' })
          .count({ n: '*' })
          .first()
          .catch(() => undefined)
        return Number(claimed?.n ?? 0) > 0
      })
      const pause = await runCli(['pause', project.name, ...project.flags])
      assert.equal(pause.code, 0, pause.stderr)
      assert.equal((await statusJson(project.name, project.dbFlags, { cwd: project.dir })).state, 'paused')
      await run.kill('SIGKILL')
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })

  it('plan piped into a reader that stops early exits quietly', async () => {
    const db = await fresh('sqlite')
    await createItems(db.knex, 20)
    const project = await makeProject(db, setMigration(10))
    try {
      const plan = spawnCli(['plan', ...project.flags])
      plan.child.stdout?.destroy() // like `| head -0`
      const result = await plan.exited
      assert.equal(result.code, 0, result.stderr)
      assert.doesNotMatch(result.stderr, /EPIPE|at /)
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })

  it('an app latency limit with no probe and no report from the app runs, and says it holds nothing back yet', async () => {
    const db = await fresh('sqlite')
    await createItems(db.knex, 20)
    const project = await makeProject(db, setMigration(10))
    try {
      const result = await runCli(['run', ...project.flags, '--max-app-latency-ms', '100'])
      assert.equal(result.code, 0, result.stderr)
      assert.match(
        result.stderr,
        /^evolve: note: the app latency limit holds back only on a latency the app reports with reportAppLatency\(\) \(none in the last 10 s\) or times with latencyProbe/,
      )
      assert.equal((await statusJson(project.name, project.dbFlags, { cwd: project.dir })).state, 'done')
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })

  it('failures for a name that is no migration says so and lists the ones there are', async () => {
    const db = await fresh('sqlite')
    await createItems(db.knex, 20)
    const project = await makeProject(db, setMigration(10))
    try {
      const result = await runCli(['failures', 'nope', ...project.dbFlags])
      assert.equal(result.code, 2)
      assert.equal(result.stderr.trim(), `evolve: no migration named "nope" in ${project.migrationsDir} (found: ${project.name})`)
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })

  it('a migration named without its timestamp, or with a typo, is told the name it likely meant', async () => {
    const db = await fresh('sqlite')
    await createItems(db.knex, 20)
    const project = await makeProject(db, setMigration(10)) // 20260101000000_bump
    try {
      for (const [command, given] of [
        ['run', 'bump'],
        ['pause', 'bump'],
        ['failures', '20260101000000_bumq'],
      ]) {
        const result = await runCli([command!, given!, ...project.dbFlags])
        assertUsageError(result, [`no migration named "${given}"`, `: did you mean "${project.name}"?`])
      }
      const far = await runCli(['run', 'nothing-like-it', ...project.dbFlags])
      assertUsageError(far, ['no migration named "nothing-like-it"'])
      assert.doesNotMatch(far.stderr, /did you mean/)
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })

  it('pause, resume and cancel of a name that is no migration say so as run does, and of a migration not run yet that it has not run', async () => {
    const db = await fresh('sqlite')
    await createItems(db.knex, 20)
    const project = await makeProject(db, setMigration(10))
    try {
      const unknown = `no migration named "nope" in ${project.migrationsDir} (found: ${project.name})`
      const asRun = await runCli(['run', 'nope', ...project.dbFlags])
      assertUsageError(asRun, [unknown])
      for (const action of ['pause', 'resume', 'cancel']) {
        const mistyped = await runCli([action, 'nope', ...project.dbFlags])
        assertUsageError(mistyped, [unknown])
        assert.equal(mistyped.stderr, asRun.stderr, `${action} says what run says`)
        const notRun = await runCli([action, project.name, ...project.dbFlags])
        assertUsageError(notRun, [`migration "${project.name}" has not run yet: nothing to ${action}`])
      }
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })
})

describe('failures page by page', () => {
  // Ten rows of a composite key, every one failing: ap 1-4, eu 1-3, us 1-3 in key order.
  const NAME = '20260101000000_hits'
  const KEYS = [...[1, 2, 3, 4].map((seq) => ['ap', seq]), ...[1, 2, 3].map((seq) => ['eu', seq]), ...[1, 2, 3].map((seq) => ['us', seq])]

  it('say how many failed in all and give the --after of the next page, and refuse an --after that is not shaped like the key', async () => {
    const db = await fresh('sqlite')
    await db.knex.schema.createTable('events', (t) => {
      t.string('region').notNullable()
      t.integer('seq').notNullable()
      t.integer('hits').notNullable()
      t.primary(['region', 'seq'])
    })
    await db.knex('events').insert(KEYS.map(([region, seq]) => ({ region, seq, hits: 0 })))
    const dir = await writeFiles({
      [`${NAME}.ts`]: migrationSource(
        `{ table: 'events', key: ['region', 'seq'], transform: (row) => { throw new Error('no hits for ' + row.region) } }`,
      ),
    })
    const flags = ['--db', db.url, '--dir', dir]
    try {
      const run = await runCli(['run', ...flags])
      assert.equal(run.code, 1, output(run))

      const listed: unknown[] = []
      const pages: string[][] = []
      let after: string[] = []
      for (let page = 0; page < 10; page++) {
        const result = await runCli(['failures', NAME, '--limit', '3', ...after, ...flags])
        assert.equal(result.code, 0, output(result))
        const lines = result.stdout.trimEnd().split('\n')
        pages.push(lines)
        const rows = lines.slice(1).filter((line) => line.startsWith('['))
        listed.push(...rows.map((line) => JSON.parse(line.split(/\s{2,}/)[0]!)))
        const next = lines.find((line) => line.startsWith('next page: '))
        if (!next) break
        assert.equal(next, `next page: evolve failures ${NAME} --limit 3 --after '${JSON.stringify(listed.at(-1))}'`)
        after = ['--after', JSON.stringify(listed.at(-1))]
      }
      assert.deepEqual(listed, KEYS, 'every key once, in key order')
      assert.deepEqual(
        pages.map((lines) => lines.find((line) => / failed/.test(line))),
        [3, 3, 3, 1].map((n) => `10 failed (${n} listed here): fix the cause, then \`evolve retry ${NAME}\``),
      )
      assert.ok(!pages.at(-1)!.some((line) => line.startsWith('next page')), 'no next page after the last')
      // --json gives the page as the text does: the failures, how many in all, the next page's --after.
      const first = await runCli(['failures', NAME, '--limit', '3', '--json', ...flags])
      assert.equal(first.code, 0, output(first))
      const page = JSON.parse(first.stdout) as { failures: { key: unknown; error: string }[]; total: number; next: unknown }
      assert.deepEqual(
        page.failures.map((f) => f.key),
        KEYS.slice(0, 3),
      )
      assert.match(page.failures[0]!.error, /no hits for ap/)
      assert.equal(page.total, 10)
      assert.deepEqual(page.next, ['ap', 3])
      const all = await runCli(['failures', NAME, ...flags])
      assert.match(all.stdout, new RegExp(`\\n10 failed: fix the cause, then \`evolve retry ${NAME}\`\\n$`))

      for (const bad of ['"ap"', 'eu', '["ap",1,2]']) {
        const result = await runCli(['failures', NAME, '--after', bad, ...flags])
        assertUsageError(result, [
          `--after `,
          `is not a key of ${NAME}: give 2 parts, one per key column, as a JSON array, e.g. --after '["ap",1]'`,
        ])
        assert.equal(result.stdout, '')
      }
    } finally {
      await db.drop()
    }
  })
})

describe('the library from a project directory', { concurrency: true }, () => {
  it('loadMigrations takes a directory relative to the working directory', async () => {
    const cwd = await writeFiles({
      'migrations/001_lower.ts': migrationSource(`{ table: 'users', set: { email: (k) => k.raw('lower(email)') } }`),
    })
    const [m] = await loadMigrations('migrations', [], cwd)
    assert.equal(m?.name, '001_lower')
    assert.equal(m?.mode, 'set')
  })

  it('assertDone tells what to do next for a misspelled name, and resolves once the run is done', async () => {
    const db = await fresh('sqlite')
    await createItems(db.knex, 20)
    const project = await makeProject(db, setMigration(10))
    try {
      await assert.rejects(
        assertDone(db.knex, 'no_such_run'),
        (err: unknown) => err instanceof EvolveNotDoneError && /no run \(not started yet, or a misspelled name\?\)/.test(err.message),
      )
      assert.equal((await runCli(['run', ...project.flags])).code, 0)
      await assertDone(db.knex, project.name)
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })
})
