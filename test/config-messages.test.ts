// Config files and openEvolve() options that a user trial got wrong, and the one line each gets:
// what is wrong and how to write it instead, naming the option as the caller knows it (the
// library's `db`, the CLI's `--db`).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Knex } from 'knex'
import { openEvolveFromCli } from '../lib/api/open-evolve.ts'
import { openEvolve } from '../lib/index.ts'
import { assertRefused, assertUsageError, output, runCli } from './helpers/cli.ts'
import { withDb } from './helpers/databases.ts'
import { createItems, rowsOf, setMigration, tempDir, writeFiles } from './helpers/fixtures.ts'

const SQLITE = "client: 'better-sqlite3', connection: { filename: './app.db' }"

describe('a config file that is not written as one', () => {
  it('says so in one line and how to write it: no default export, a config nested under a name, a knexfile’s environments', async () => {
    for (const [file, source, says] of [
      [
        'evolve.config.ts',
        `export const config = { ${SQLITE} }\n`,
        'evolve.config.ts: no default export (only named exports: config): write export default defineConfig({ client, connection, … })',
      ],
      [
        'evolve.config.mjs',
        `const config = { ${SQLITE} }\nvoid config\n`,
        'evolve.config.mjs: exports nothing: write export default defineConfig(',
      ],
      [
        // CommonJS whose module.exports stayed empty: it assigned to `exports` alone.
        'evolve.config.js',
        `exports = { ${SQLITE} }\n`,
        'evolve.config.js: exports an empty object: write export default defineConfig({ client, connection, … }); in CommonJS, module.exports = defineConfig({ … }) (assigning to exports alone exports nothing)',
      ],
      ['evolve.config.ts', '', 'evolve.config.ts: exports nothing: write export default defineConfig('],
      [
        'evolve.config.js',
        `module.exports.config = { ${SQLITE} }\n`,
        'evolve.config.js: field "config" holds a config: export that config itself, export default defineConfig(',
      ],
      [
        'evolve.config.ts',
        "import { defineConfig } from 'evolvekit'\nexport default defineConfig\n",
        'evolve.config.ts: the default export must be defineConfig({ ... }); found a function',
      ],
      [
        'evolve.config.ts',
        `export default {\n  development: { ${SQLITE}, useNullAsDefault: true },\n  production: { client: 'pg', connection: process.env.DATABASE_URL },\n}\n`,
        'evolve.config.ts: "development", "production" are environments, as in a knexfile, but evolve.config names one database: pick one, e.g. const { client, connection } = knexfile.production; export default defineConfig({ client, connection })',
      ],
    ] as const) {
      const cwd = await writeFiles({ [file]: source })
      assertUsageError(await runCli(['status'], { cwd }), [says])
    }
  })

  it('the way out a knexfile’s environments are told works: one environment’s client and connection, passed to defineConfig', () =>
    withDb('sqlite', async (db) => {
      assert.ok(db.dialect === 'sqlite')
      const cwd = await writeFiles({
        'knexfile.cjs': `module.exports = {
  development: { client: 'better-sqlite3', connection: { filename: ${JSON.stringify(db.file)} }, useNullAsDefault: true, migrations: { tableName: 'knex_migrations' } },
  production: { client: 'pg', connection: 'postgres://nobody@127.0.0.1:1/none' },
}
`,
        'evolve.config.ts': `import { defineConfig } from 'evolvekit'
import knexfile from './knexfile.cjs'

const { client, connection } = knexfile.development
export default defineConfig({ client, connection })
`,
        'migrations/001_bump.ts': setMigration(10),
      })
      await createItems(db.knex, 25)
      const run = await runCli(['run'], { cwd })
      assert.equal(run.code, 0, output(run))
      assert.ok((await rowsOf(db.knex, 'items')).every((row) => Number(row.counter) === 1))
    }))

  it('names the migrations directory field when it is called dir, inside migrations or at the top level', async () => {
    for (const [extra, says] of [
      [{ migrations: { dir: './x' } }, 'unknown field "migrations.dir": did you mean "directory"?'],
      [{ migrations: { path: './x' } }, 'unknown field "migrations.path": did you mean "directory"?'],
      [{ migrations: { tableName: 'knex_migrations' } }, 'unknown field "migrations.tableName" (allowed: directory)'],
      [{ migrations: './x' }, `field "migrations": must be { directory: './migrations' }`],
      [{ dir: './x' }, 'unknown field "dir": did you mean "migrations: { directory }"?'],
    ] as const) {
      const cwd = await writeFiles({
        'evolve.config.json': JSON.stringify({ client: 'better-sqlite3', connection: { filename: './app.db' }, ...extra }),
      })
      assertUsageError(await runCli(['status'], { cwd }), ['evolve.config.json', says])
    }
  })
})

describe('pool in the config file', () => {
  const poolOf = (knex: Knex) => (knex.client as { pool: { min: number; max: number } }).pool

  it('sizes the PostgreSQL pool evolvekit opens; openEvolve’s own pool wins over it, and a CLI command’s sizing does not', () =>
    withDb('postgres', async (db) => {
      const cwd = await writeFiles({ 'evolve.config.json': JSON.stringify({ client: 'pg', connection: db.url, pool: { min: 1, max: 3 } }) })
      for (const [open, expected] of [
        [() => openEvolve({ cwd, env: {} }), { min: 1, max: 3 }],
        [() => openEvolve({ cwd, env: {}, pool: { max: 7 } }), { min: 1, max: 7 }],
        [() => openEvolveFromCli({ cwd, env: {}, pool: { max: 9 } }), { min: 1, max: 3 }],
      ] as const) {
        const evolve = await open()
        try {
          const { min, max } = poolOf(evolve.knex)
          assert.deepEqual({ min, max }, expected)
        } finally {
          await evolve.close()
        }
      }
      // A min above the max another source set (PostgreSQL's default 10) raises the max instead of breaking the pool.
      const high = await writeFiles({ 'evolve.config.json': JSON.stringify({ client: 'pg', connection: db.url, pool: { min: 12 } }) })
      const evolve = await openEvolve({ cwd: high, env: {} })
      try {
        const { min, max } = poolOf(evolve.knex)
        assert.deepEqual({ min, max }, { min: 12, max: 12 })
        await evolve.knex.raw('select 1')
      } finally {
        await evolve.close()
      }
    }))

  it('a pool of one connection still serves a run of several workers to the end: they take turns', () =>
    withDb('postgres', async (db) => {
      const cwd = await writeFiles({
        'evolve.config.json': JSON.stringify({ client: 'pg', connection: db.url, pool: { max: 1 } }),
        'migrations/001_bump.ts': setMigration(20),
      })
      await createItems(db.knex, 200)
      const evolve = await openEvolve({ cwd, env: {} })
      try {
        const [progress] = await (await evolve.run(undefined, { workers: 3 })).done
        assert.equal(progress?.state, 'done')
        assert.ok((await rowsOf(db.knex, 'items')).every((row) => Number(row.counter) === 1))
      } finally {
        await evolve.close()
      }
    }))

  it('a pool that is not { min, max } of whole numbers, or one SQLite would not keep, is one line naming the field', async () => {
    for (const [pool, says] of [
      [{ max: 0 }, 'field "pool.max": must be a positive integer'],
      [{ min: -1 }, 'field "pool.min": must be a whole number, 0 or more'],
      [{ min: 5, max: 2 }, 'pool.min (5) is above pool.max (2): lower one of them'],
      [{ idleTimeoutMillis: 1000 }, 'unknown field "pool.idleTimeoutMillis" (allowed: min, max)'],
      [{ mx: 4 }, 'unknown field "pool.mx": did you mean "max"?'],
      [5, 'field "pool": must be { min, max }, e.g. { min: 0, max: 10 }'],
      [{ max: 4 }, 'field "pool": the better-sqlite3 client keeps 1 connection per process, whatever "pool" says: leave "pool" out'],
    ] as const) {
      const cwd = await writeFiles({
        'evolve.config.json': JSON.stringify({ client: 'better-sqlite3', connection: { filename: './app.db' }, pool }),
      })
      assertUsageError(await runCli(['status'], { cwd }), ['evolve.config.json', says])
    }
  })

  it('of a PostgreSQL config file is left out when --db names a SQLite database instead', async () => {
    const cwd = await writeFiles({
      'evolve.config.json': JSON.stringify({ client: 'pg', connection: 'postgres://app@db.internal/shop', pool: { max: 4 } }),
      'app.db': '',
      'migrations/.keep': '',
    })
    const status = await runCli(['status', '--db', 'sqlite:./app.db'], { cwd })
    assert.equal(status.code, 0, output(status))
  })
})

describe('openEvolve by URL', () => {
  it('names its own option db, never the CLI flag, in every message about the database it is told', async () => {
    const cwd = await tempDir('evk-open-')
    const noDb = await writeFiles({ 'evolve.config.json': JSON.stringify({ targetBatchMs: 40 }) })
    for (const [options, code, message] of [
      [{ db: 'mysql://x' }, 'E_BAD_URL', /^db "mysql:\/\/x" is not a database URL: use postgres:\/\//],
      [{ db: 'sqlite:' }, 'E_BAD_URL', /^db "sqlite:" names no file: use sqlite:<path>/],
      // PostgreSQL would use the database named like the user, and say a table is missing.
      [
        { db: 'postgres://evk:secret@127.0.0.1:1/' },
        'E_NO_DATABASE',
        /^db "postgres:\/\/evk:\*\*\*@127\.0\.0\.1:1\/" names no database: add it to the URL, e\.g\. postgres:\/\/user@host:5432\/app \(or set PGDATABASE\)$/,
      ],
      [{ db: 'sqlite:./missing.db' }, 'E_NO_DATABASE', /^SQLite database file .*missing\.db does not exist: check the path \(from db\)$/],
      [
        {},
        'E_NO_DATABASE',
        /^no database configured: pass db \('postgres:\/\/…' or 'sqlite:\.\/app\.db'\) or your knex to openEvolve, set DATABASE_URL/,
      ],
      [
        { cwd: noDb },
        'E_CONFIG',
        /evolve\.config\.json: field "client" is missing: set it, or name the database with openEvolve\(\{ db \}\) or DATABASE_URL$/,
      ],
    ] as const) {
      await assertRefused(openEvolve({ cwd, env: {}, ...options }), code, message)
      await assert.rejects(openEvolve({ cwd, env: {}, ...options }), (err: Error) => !err.message.includes('--db'))
    }
    // The CLI's opening names its flag, for the same mistakes.
    await assertRefused(openEvolveFromCli({ cwd, env: {}, db: 'mysql://x' }), 'E_BAD_URL', /^--db "mysql:\/\/x" is not a database URL/)
    await assertRefused(openEvolveFromCli({ cwd, env: {}, db: 'sqlite:./missing.db' }), 'E_NO_DATABASE', /\(from --db\)$/)
    await assertRefused(openEvolveFromCli({ cwd, env: {} }), 'E_NO_DATABASE', /^no database configured: pass --db postgres:\/\//)
    await assertRefused(openEvolveFromCli({ cwd: noDb, env: {} }), 'E_CONFIG', /name the database with --db or DATABASE_URL$/)
  })
})
