// The `evolve` command as a user meets it: scaffolding, where the database comes from,
// the read-only commands (plan, status), file order and formats, and its output off a TTY.
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { output, runCli, statusJson } from './helpers/cli.ts'
import { dialects, fresh, type FreshDatabase, withDb } from './helpers/databases.ts'
import {
  createUsers,
  insertChunked,
  migrationSource,
  newEmail,
  rowsOf,
  runRow,
  tempDir,
  trackingTables,
  writeFiles,
} from './helpers/fixtures.ts'

const LOWER = `{
  description: 'Lower-case every e-mail address',
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)'),
  transform: (row) => ({ email: row.email.toLowerCase() }),
}`

const isPending = (id: number) => id % 3 === 0

/** The pending rows createUsers seeds for `count` rows. */
const pendingCount = (count: number) => Array.from({ length: count }, (_, i) => i + 1).filter(isPending).length

/** A knex connection setting for `db`, as source text. */
function connectionSource(db: FreshDatabase): string {
  return db.dialect === 'postgres' ? JSON.stringify(db.url) : `{ filename: ${JSON.stringify(db.file)} }`
}
const clientOf = (db: FreshDatabase) => (db.dialect === 'postgres' ? 'pg' : 'better-sqlite3')

describe('scaffolding', () => {
  it('init creates evolve.config.ts and migrations/ in an empty directory, and refuses a second time', async () => {
    const cwd = await tempDir('evk-init-')
    const first = await runCli(['init'], { cwd })
    assert.equal(first.code, 0, output(first))
    assert.deepEqual(readdirSync(cwd).sort(), ['evolve.config.ts', 'migrations'])
    assert.ok(statSync(path.join(cwd, 'migrations')).isDirectory())
    const config = await readFile(path.join(cwd, 'evolve.config.ts'), 'utf8')
    assert.match(config, /defineConfig/)

    const second = await runCli(['init'], { cwd })
    assert.equal(second.code, 2, output(second))
    assert.match(second.stderr, /^evolve: .*evolve\.config\.ts.*already exists/)
    assert.equal(second.stderr.trimEnd().split('\n').length, 1)
    assert.equal(await readFile(path.join(cwd, 'evolve.config.ts'), 'utf8'), config, 'the config file is unchanged')
    assert.deepEqual(readdirSync(path.join(cwd, 'migrations')), [])
  })

  it('init --config writes the config there, says to name it again, refuses a name without .ts, and status then reads it', async () => {
    const cwd = await tempDir('evk-init-')
    const wrong = await runCli(['init', '--config', 'ops.config.json'], { cwd })
    assert.equal(wrong.code, 2, output(wrong))
    assert.match(wrong.stderr.trimEnd(), /^evolve: init writes a TypeScript config: name it with \.ts \(e\.g\. --config ops\.config\.ts\)$/)
    assert.deepEqual(readdirSync(cwd), [])

    const made = await runCli(['init', '--config', 'ops.config.ts', '--db', 'sqlite:./app.db'], { cwd })
    assert.equal(made.code, 0, output(made))
    assert.match(made.stdout, /created ops\.config\.ts and migrations\/ \(pass --config ops\.config\.ts to every command\)/)
    assert.deepEqual(readdirSync(cwd).sort(), ['migrations', 'ops.config.ts'])
    const again = await runCli(['init', '--config', 'ops.config.ts'], { cwd })
    assert.equal(again.code, 2)
    assert.match(again.stderr, /ops\.config\.ts already exists/)
    new Database(path.join(cwd, 'app.db')).close()
    const status = await runCli(['status', '--config', 'ops.config.ts'], { cwd })
    assert.equal(status.code, 0, output(status))
    assert.match(status.stdout, /no migrations in/)
  })

  it('create refuses a name too long for a file name or a run, and takes one of 200 characters', async () => {
    const cwd = await tempDir('evk-create-')
    const long = await runCli(['create', 'x'.repeat(201)], { cwd })
    assert.equal(long.code, 2, output(long))
    assert.match(long.stderr.trimEnd(), /^evolve: migration name of 201 characters: keep it to 200/)
    assert.equal(existsSync(path.join(cwd, 'migrations')) ? readdirSync(path.join(cwd, 'migrations')).length : 0, 0)
    const longest = await runCli(['create', 'y'.repeat(200)], { cwd })
    assert.equal(longest.code, 0, output(longest))
  })

  it('init --config in a directory that does not exist makes it, and the paths in the file lead where init was told', async () => {
    const cwd = await tempDir('evk-init-')
    const made = await runCli(['init', '--config', 'conf/ops.config.ts', '--db', 'sqlite:./app.db'], { cwd })
    assert.equal(made.code, 0, output(made))
    const text = await readFile(path.join(cwd, 'conf', 'ops.config.ts'), 'utf8')
    // Paths in a config file are relative to the file.
    assert.match(text, /filename: "\.\.\/app\.db"/)
    assert.match(text, /directory: "\.\.\/migrations"/)
    assert.deepEqual(readdirSync(cwd).sort(), ['conf', 'migrations'])
    new Database(path.join(cwd, 'app.db')).close()
    const status = await runCli(['status', '--config', 'conf/ops.config.ts'], { cwd })
    assert.equal(status.code, 0, output(status))
    assert.match(status.stdout, new RegExp(`no migrations in ${path.join(cwd, 'migrations').replace(/[/\\]/g, '.')}`))
  })
})

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('init --db writes a config that later commands use without flags', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 12, pending: isPending })
        const cwd = await tempDir('evk-init-db-')
        const init = await runCli(['init', '--db', db.url], { cwd })
        assert.equal(init.code, 0, output(init))
        await writeFiles({ 'migrations/001_lower.ts': migrationSource(LOWER) }, cwd)
        // A password in the URL stays out of the file (it gets committed); PGPASSWORD supplies it.
        const password = d === 'postgres' ? decodeURIComponent(new URL(db.url).password) : ''
        const env: Record<string, string> = {}
        if (password) {
          assert.ok(
            !(await readFile(path.join(cwd, 'evolve.config.ts'), 'utf8')).includes(`:${password}@`),
            'no password in the config file',
          )
          assert.match(init.stdout, /password is not written to evolve\.config\.ts: set PGPASSWORD/)
          env.PGPASSWORD = password
        }

        const run = await runCli(['run'], { cwd, env })
        assert.equal(run.code, 0, output(run))
        assert.equal((await runRow(db.knex, '001_lower'))?.state, 'done')
        for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.email, newEmail(row.id as number))
      }))

    it('create writes a timestamped template that plan and run refuse until it is filled in, changing nothing', () =>
      withDb(d, async (db) => {
        const count = 20
        await createUsers(db, { count, pending: isPending })
        const before = await rowsOf(db.knex, 'users')
        const cwd = await tempDir('evk-create-')
        const created = await runCli(['create', 'lowercase-emails'], { cwd })
        assert.equal(created.code, 0, output(created))
        const files = readdirSync(path.join(cwd, 'migrations'))
        assert.equal(files.length, 1)
        assert.match(files[0]!, /^\d{14}_lowercase-emails\.ts$/)

        // An unedited template must not evolve a real table (it once lower-cased users.email).
        for (const command of ['plan', 'run']) {
          const refused = await runCli([command, '--db', db.url], { cwd })
          assert.equal(refused.code, 2, output(refused))
          assert.match(refused.stderr, /table "TODO" does not exist \(field "table"\)/)
        }
        assert.deepEqual(await rowsOf(db.knex, 'users'), before)

        // Filled in as its comments show, plan loads it.
        const file = path.join(cwd, 'migrations', files[0]!)
        const filled = readFileSync(file, 'utf8')
          .replace("table: 'TODO'", "table: 'users'")
          .replace("q.whereNull('TODO')", "q.whereRaw('email <> lower(email)')")
          .replace("columns: ['TODO']", "columns: ['email']")
          .replace('({ TODO: row.TODO })', '({ email: String(row.email).toLowerCase() })')
        writeFileSync(file, filled)
        const plan = await runCli(['plan', '--db', db.url, '--json'], { cwd })
        assert.equal(plan.code, 0, output(plan))
        const [entry] = JSON.parse(plan.stdout) as { name: string; pending: number; rows: number }[]
        assert.equal(entry?.name, files[0]!.replace(/\.ts$/, ''))
        assert.equal(entry?.pending, pendingCount(count))
        assert.equal(entry?.rows, count)
      }))

    it('the database comes from --db, else DATABASE_URL, else the config file in the working directory', async () => {
      const [a, b, c] = await Promise.all([fresh(d), fresh(d), fresh(d)])
      try {
        for (const db of [a, b, c]) await createUsers(db, { count: 6, pending: isPending })
        const cwd = await writeFiles({
          'evolve.config.ts': `import { defineConfig } from 'evolvekit'
export default defineConfig({ client: '${clientOf(a)}', connection: ${connectionSource(a)} })
`,
          'migrations/001_lower.ts': migrationSource(LOWER),
        })
        const evolved = async () => Promise.all([a, b, c].map(async (db) => (await trackingTables(db)).length > 0))

        const fromConfig = await runCli(['run'], { cwd })
        assert.equal(fromConfig.code, 0, output(fromConfig))
        assert.deepEqual(await evolved(), [true, false, false], 'the config file names A')

        const fromEnv = await runCli(['run'], { cwd, env: { DATABASE_URL: b.url } })
        assert.equal(fromEnv.code, 0, output(fromEnv))
        assert.deepEqual(await evolved(), [true, true, false], 'DATABASE_URL (B) beats the config file')
        // Said on stderr (an exported DATABASE_URL is easy to forget), and only then: not for --db.
        assert.match(
          fromEnv.stderr,
          /^evolve: using DATABASE_URL \(.+\), not the connection in .*evolve\.config\.ts; unset DATABASE_URL or pass --db to choose$/m,
        )
        assert.doesNotMatch(fromConfig.stderr, /using DATABASE_URL/)

        const fromFlag = await runCli(['run', '--db', c.url], { cwd, env: { DATABASE_URL: b.url } })
        assert.equal(fromFlag.code, 0, output(fromFlag))
        assert.doesNotMatch(fromFlag.stderr, /using DATABASE_URL/)
        assert.deepEqual(await evolved(), [true, true, true], '--db (C) beats DATABASE_URL')
        assert.equal((await runRow(b.knex, '001_lower'))?.state, 'done')
        assert.equal((await runRow(c.knex, '001_lower'))?.state, 'done')

        // A file that takes its connection from DATABASE_URL, as the docs' example does: nothing overridden, nothing said.
        await writeFiles(
          {
            'evolve.config.ts': `import { defineConfig } from 'evolvekit'
export default defineConfig({ client: '${clientOf(a)}', connection: process.env.DATABASE_URL ?? ${connectionSource(c)} })
`,
          },
          cwd,
        )
        const same = await runCli(['status'], { cwd, env: { DATABASE_URL: a.url } })
        assert.equal(same.code, 0, output(same))
        assert.doesNotMatch(same.stderr, /using DATABASE_URL/)
      } finally {
        await Promise.all([a.drop(), b.drop(), c.drop()])
      }
    })

    it('a config file still supplies its throttle hook and migrations directory when DATABASE_URL or --db names the database', async () => {
      const [a, b] = await Promise.all([fresh(d), fresh(d)])
      try {
        for (const db of [a, b]) await createUsers(db, { count: 6, pending: isPending })
        // No client or connection: the environment names the database, as in many deployments.
        const cwd = await writeFiles({
          'evolve.config.ts': `import fs from 'node:fs'
import { defineConfig } from 'evolvekit'
export default defineConfig({
  migrations: { directory: 'db/evolve' },
  throttle: async () => {
    fs.appendFileSync(new URL('./hook-calls', import.meta.url), 'x')
    return false
  },
})
`,
          'db/evolve/001_lower.ts': migrationSource(LOWER),
        })
        const hookCalls = () =>
          readFile(path.join(cwd, 'hook-calls'), 'utf8').then(
            (t) => t.length,
            () => 0,
          )

        const fromEnv = await runCli(['run'], { cwd, env: { DATABASE_URL: a.url } })
        assert.equal(fromEnv.code, 0, output(fromEnv))
        assert.equal((await runRow(a.knex, '001_lower'))?.state, 'done', 'the migration was found in db/evolve')
        const afterEnv = await hookCalls()
        assert.ok(afterEnv > 0, 'the throttle hook was asked before batches')

        const fromFlag = await runCli(['run', '--db', b.url], { cwd })
        assert.equal(fromFlag.code, 0, output(fromFlag))
        assert.equal((await runRow(b.knex, '001_lower'))?.state, 'done')
        assert.ok((await hookCalls()) > afterEnv, 'with --db too')

        const noDb = await runCli(['run'], { cwd })
        assert.equal(noDb.code, 2, output(noDb))
        assert.match(noDb.stderr, /evolve\.config\.ts: field "client" is missing: set it, or name the database with --db or DATABASE_URL/)
      } finally {
        await Promise.all([a.drop(), b.drop()])
      }
    })

    it('--config naming a file in another directory finds the migrations next to that file', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 6, pending: isPending })
        const project = await writeFiles({
          'evolve.config.ts': `import { defineConfig } from 'evolvekit'
export default defineConfig({ client: '${clientOf(db)}', connection: ${connectionSource(db)} })
`,
          'migrations/001_lower.ts': migrationSource(LOWER),
        })
        const elsewhere = await tempDir('evk-elsewhere-')
        const run = await runCli(['run', '--config', path.join(project, 'evolve.config.ts')], { cwd: elsewhere })
        assert.equal(run.code, 0, output(run))
        assert.equal((await runRow(db.knex, '001_lower'))?.state, 'done')
      }))

    it('a done migration whose column was dropped since does not stop the next one, in run and plan', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 12, pending: isPending })
        const dir = await writeFiles({
          '001_upper_name.ts': migrationSource(`{ table: 'users', set: { name: (k) => k.raw('upper(name)') } }`),
        })
        const cli = (...args: string[]) => runCli([...args, '--db', db.url, '--dir', dir])
        assert.equal((await cli('run')).code, 0)
        // Later the app drops the column the first migration filled, and a second one arrives
        // (PostgreSQL: its DEFAULT is valid in an UPDATE's SET, so validation must accept it).
        await db.knex.schema.alterTable('users', (t) => t.dropColumn('name'))
        const reset = d === 'postgres' ? 'DEFAULT' : '0'
        await writeFiles(
          {
            '002_lower.ts': migrationSource(
              `{ table: 'users', set: { email: (k) => k.raw('lower(email)'), counter: (k) => k.raw('${reset}') } }`,
            ),
          },
          dir,
        )

        const plan = await cli('plan')
        assert.equal(plan.code, 0, output(plan))
        assert.match(plan.stdout, /001_upper_name .*\n {2}state: done; nothing left to plan/)
        const run = await cli('run')
        assert.equal(run.code, 0, output(run))
        assert.equal((await runRow(db.knex, '002_lower'))?.state, 'done')
        for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.email, newEmail(row.id as number))
      }))

    it('a knexfile.js in the working directory is used when nothing else names a database', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 9, pending: isPending })
        const cwd = await writeFiles({
          'knexfile.js': `module.exports = {
  development: { client: '${clientOf(db)}', connection: ${connectionSource(db)}, useNullAsDefault: true },
  production: { client: 'pg', connection: 'postgres://nobody:nothing@127.0.0.1:1/none' },
}
`,
          'migrations/001_lower.ts': migrationSource(LOWER),
        })
        const run = await runCli(['run'], { cwd, env: { NODE_ENV: 'development' } })
        assert.equal(run.code, 0, output(run))
        assert.equal((await runRow(db.knex, '001_lower'))?.state, 'done')
        for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.email, newEmail(row.id as number))
      }))

    it('plan prints the pending count and the first batch SQL and changes nothing', () =>
      withDb(d, async (db) => {
        const count = 60
        await createUsers(db, { count, pending: isPending })
        const before = await rowsOf(db.knex, 'users')
        const dir = await writeFiles({ '001_lower.ts': migrationSource(LOWER) })

        const plan = await runCli(['plan', '--db', db.url, '--dir', dir, '--batch-size', '25'])
        assert.equal(plan.code, 0, output(plan))
        assert.match(plan.stdout, new RegExp(`\\b${pendingCount(count)} rows pending of ${count}\\b`))
        const select = plan.stdout.split('\n').find((line) => /select \* from ["`]users["`]/i.test(line))
        assert.ok(select, `the first batch's SELECT is printed:\n${plan.stdout}`)
        assert.match(select, /lower\(email\)/, 'with the pending filter')
        assert.match(select, /<= 25\b/, 'bounded by the 25th key')

        const json = await runCli(['plan', '--db', db.url, '--dir', dir, '--batch-size', '25', '--json'])
        assert.equal(json.code, 0, output(json))
        const [entry] = JSON.parse(json.stdout) as { name: string; pending: number; rows: number; batches: number; batchSize: number }[]
        assert.deepEqual(
          { name: entry?.name, pending: entry?.pending, rows: entry?.rows, batchSize: entry?.batchSize, batches: entry?.batches },
          { name: '001_lower', pending: pendingCount(count), rows: count, batchSize: 25, batches: Math.ceil(count / 25) },
        )
        assert.match(
          plan.stdout,
          new RegExp(`batches of 25: about ${Math.ceil(count / 25)} batches`),
          'a fixed size is kept: its count holds',
        )
        const adaptive = await runCli(['plan', '--db', db.url, '--dir', dir])
        assert.equal(adaptive.code, 0, output(adaptive))
        assert.match(
          adaptive.stdout,
          /about \d+ batches at the starting size of \d+ rows \(the runner sizes batches by time/,
          'without one the count is only an estimate',
        )

        assert.deepEqual(await trackingTables(db), [], 'plan created no tracking tables')
        assert.deepEqual(await rowsOf(db.knex, 'users'), before, 'plan changed no data')
      }))

    it('status before any run shows the migration pending and creates no tables', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 6, pending: isPending })
        const dir = await writeFiles({ '001_lower.ts': migrationSource(LOWER) })
        const status = await statusJson('001_lower', ['--db', db.url, '--dir', dir])
        assert.equal(status.state, 'pending')
        assert.equal(status.done, 0)
        assert.deepEqual(await trackingTables(db), [])
      }))

    it('migrations run in file-name order, each seeing the one before done', () =>
      withDb(d, async (db) => {
        await db.knex.schema.createTable('nums', (t) => {
          t.integer('id').primary()
          t.integer('a').notNullable()
          t.integer('b')
          t.integer('c')
        })
        await insertChunked(
          db.knex,
          'nums',
          Array.from({ length: 30 }, (_, i) => ({ id: i + 1, a: (i + 1) * 3 })),
        )
        // Written last-first; 002 reads what 001 writes (b), so it only works after 001.
        const dir = await writeFiles({
          '002_plus_one.ts': migrationSource(`{ table: 'nums', pending: (q) => q.whereNull('c'), set: { c: (k) => k.raw('b + 1') } }`),
          '001_double.ts': migrationSource(`{ table: 'nums', pending: (q) => q.whereNull('b'), set: { b: (k) => k.raw('a * 2') } }`),
        })
        const run = await runCli(['run', '--db', db.url, '--dir', dir])
        assert.equal(run.code, 0, output(run))
        for (const row of await rowsOf(db.knex, 'nums')) assert.equal(row.c, (row.a as number) * 2 + 1, `row ${row.id}`)
        const [first, second] = ['001_double: starting', '002_plus_one: starting'].map((line) => run.stdout.indexOf(line))
        assert.ok(first! >= 0 && second! > first!, `001 starts before 002:\n${run.stdout}`)
        assert.equal((await runRow(db.knex, '002_plus_one'))?.state, 'done')
      }))

    it('.mjs and .js migration files load and run', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: 15, pending: isPending })
        const dir = await writeFiles({
          '001_lower.mjs': migrationSource(LOWER),
          '002_names.js': migrationSource(
            `{ table: 'users', pending: (q) => q.where('name', 'like', 'name %'), set: { name: (k) => k.raw("'js:' || name") } }`,
          ),
        })
        const run = await runCli(['run', '--db', db.url, '--dir', dir])
        assert.equal(run.code, 0, output(run))
        for (const row of await rowsOf(db.knex, 'users')) {
          assert.equal(row.email, newEmail(row.id as number))
          assert.equal(row.name, `js:name ${row.id}`)
        }
      }))

    it('run off a TTY prints plain progress lines naming the migration, and status --json then reports it done', () =>
      withDb(d, async (db) => {
        const count = 45
        await createUsers(db, { count, pending: isPending })
        const dir = await writeFiles({ '001_lower.ts': migrationSource(LOWER) })
        const run = await runCli(['run', '--db', db.url, '--dir', dir, '--batch-size', '5'])
        assert.equal(run.code, 0, output(run))
        assert.doesNotMatch(run.stdout + run.stderr, /\x1b\[/, 'no ANSI escapes') // eslint-disable-line no-control-regex
        const lines = run.stdout.trimEnd().split('\n')
        assert.ok(lines.length >= 2, run.stdout)
        for (const line of lines) assert.match(line, /^001_lower: /)
        assert.match(lines.at(-1)!, /^001_lower: done\b/)

        const status = await statusJson('001_lower', ['--db', db.url, '--dir', dir])
        assert.deepEqual(
          { name: status.name, state: status.state, done: status.done, failed: status.failed, remaining: status.remaining },
          { name: '001_lower', state: 'done', done: pendingCount(count), failed: 0, remaining: 0 },
        )
      }))
  })
}
