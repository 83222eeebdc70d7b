// Bad input of every kind: exit code 2, one line on stderr naming the problem, no stack
// trace, and nothing changed: no tracking tables, the data byte for byte as it was.
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import knexFactory from 'knex'
import { type EvolveUsageError, openEvolve } from '../lib/index.ts'
import { assertUsageError, output, runCli } from './helpers/cli.ts'
import { type Dialect, dialects, type FreshDatabase, withDb } from './helpers/databases.ts'
import { createUsers, migrationSource, rowsOf, tempDir, trackingTables, writeFiles } from './helpers/fixtures.ts'

const LOWER = `{
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)'),
  transform: (row) => ({ email: row.email.toLowerCase() }),
}`

interface Case {
  name: string
  files: Record<string, string>
  /** Arguments after `run --db <url> --dir <dir>`. */
  args?: string[]
  /** What stderr must name. */
  fragments: string[]
  /** Only on this dialect. */
  only?: Dialect
  /** Schema the case needs besides the seeded users, created before the snapshot. */
  setup?: (db: FreshDatabase) => Promise<void>
}

// Found only by looking at the database: checked on both dialects.
const DB_CASES: Case[] = [
  {
    name: 'a missing table',
    files: { '001_missing_table.ts': migrationSource(`{ table: 'no_such_table', transform: (row) => row }`) },
    fragments: ['001_missing_table.ts', 'no_such_table', '"table"'],
  },
  {
    name: 'a key column that is not unique',
    files: { '001_dup_key.ts': migrationSource(`{ table: 'users', key: 'dup', transform: (row) => row }`) },
    fragments: ['001_dup_key.ts', '"dup"', 'unique', '"key"'],
  },
  {
    name: 'a key column that does not exist',
    files: { '001_no_key.ts': migrationSource(`{ table: 'users', key: 'user_uuid', transform: (row) => row }`) },
    fragments: ['001_no_key.ts', 'user_uuid', '"key"'],
  },
  {
    // Batches are key ranges: rows whose key is NULL would be in none and never evolve.
    name: 'a unique key column that allows NULL',
    setup: (db) => db.knex.schema.alterTable('users', (t) => t.unique(['name'])),
    files: { '001_null_key.ts': migrationSource(`{ table: 'users', key: 'name', transform: (row) => row }`) },
    fragments: ['001_null_key.ts', '"name"', 'allows NULL', '"key"', 'primary key'],
  },
  {
    // Batch bounds are stored as JSON: a Date comes back as UTC text, shifted by the process's offset.
    // (SQLite hands dates back as the text or number stored, which round-trips.)
    name: 'a date/time key column',
    only: 'postgres',
    setup: async (db) => {
      await db.knex.schema.createTable('events', (t) => {
        t.integer('id').primary()
        t.timestamp('happened_at', { useTz: false }).notNullable().unique()
      })
      await db.knex('events').insert([1, 2, 3].map((id) => ({ id, happened_at: new Date(Date.UTC(2024, 0, id, 12)) })))
    },
    files: { '001_time_key.ts': migrationSource(`{ table: 'events', key: 'happened_at', transform: (row) => row }`) },
    fragments: ['001_time_key.ts', '"happened_at"', 'date/time type', '"key"', 'primary key'],
  },
  {
    name: '`set` naming a missing column',
    files: { '001_set_missing.ts': migrationSource(`{ table: 'users', set: { display_name: (k) => k.raw('upper(name)') } }`) },
    fragments: ['001_set_missing.ts', 'display_name', '"set"'],
  },
  {
    // Batches walk the key order: rows whose key moved ahead were met and shifted again, without end.
    name: '`set` changing the key column',
    files: { '001_set_key.ts': migrationSource(`{ table: 'users', set: { id: (k) => k.raw('id + 100000') } }`) },
    fragments: ['001_set_key.ts', '"set.id"', 'key column', 'leave the key'],
  },
  {
    name: '`set` changing a column of a composite key',
    setup: async (db) => {
      await db.knex.schema.createTable('members', (t) => {
        t.integer('tenant_id').notNullable()
        t.integer('id').notNullable()
        t.primary(['tenant_id', 'id'])
      })
      await db.knex('members').insert([1, 2, 3].map((id) => ({ tenant_id: 1, id })))
    },
    files: {
      '001_set_key_part.ts': migrationSource(
        `{ table: 'members', key: ['tenant_id', 'id'], set: { tenant_id: (k) => k.raw('tenant_id + 100') } }`,
      ),
    },
    fragments: ['001_set_key_part.ts', '"set.tenant_id"', 'key column'],
  },
  {
    // Would otherwise fail every batch, and splitting the failed batches would record healthy rows as failed.
    name: 'a `set` expression that produces invalid SQL',
    files: {
      '001_set_typo.ts': migrationSource(
        `{ table: 'users', set: { name: (k) => k.raw('upper(name)'), email: (k) => k.raw('lowr(email)') } }`,
      ),
    },
    fragments: ['001_set_typo.ts', 'field "set.email"', 'invalid SQL', 'lowr'],
  },
  {
    // Checked as the batches' UPDATE compiles it, so PostgreSQL's column type check applies.
    name: 'a `set` expression of the wrong type for its column',
    only: 'postgres',
    files: { '001_set_type.ts': migrationSource(`{ table: 'users', set: { counter: (k) => k.raw('upper(name)') } }`) },
    fragments: ['001_set_type.ts', 'field "set.counter"', 'integer'],
  },
  {
    name: 'a `pending` that produces invalid SQL',
    files: {
      '001_bad_pending.ts': migrationSource(
        `{ table: 'users', pending: (q) => q.whereRaw('no_such_column > 1'), transform: (row) => row }`,
      ),
    },
    fragments: ['001_bad_pending.ts', '"pending"'],
  },
  {
    name: 'an unknown migration name given to run',
    files: { '001_lower.ts': migrationSource(LOWER) },
    args: ['002_typo'],
    fragments: ['002_typo'],
  },
  {
    name: 'one of two migrations invalid: neither runs',
    files: {
      // The valid one comes first in file-name order: it must not run either.
      '001_lower.ts': migrationSource(LOWER),
      '002_broken.ts': migrationSource(`{ table: 'users', key: 'user_uuid', transform: (row) => row }`),
    },
    fragments: ['002_broken.ts', 'user_uuid'],
  },
]

// Found while loading files or parsing flags, before the database is looked at: the same code
// on both dialects, so checked once (against a SQLite database that must stay unchanged).
const FILE_CASES: Case[] = [
  {
    name: 'two evolve functions',
    files: {
      '001_two_modes.ts': migrationSource(`{ table: 'users', transform: (row) => row, async up() {} }`),
    },
    fragments: ['001_two_modes.ts', '"transform"', '"up"'],
  },
  {
    name: 'no evolve function',
    files: { '001_no_mode.ts': migrationSource(`{ table: 'users' }`) },
    fragments: ['001_no_mode.ts', 'exactly one of', 'none'],
  },
  {
    name: 'an unknown option',
    files: { '001_typo.ts': migrationSource(`{ table: 'users', batchsize: 10, transform: (row) => row }`) },
    fragments: ['001_typo.ts', 'batchsize'],
  },
  {
    name: 'a syntax error',
    files: {
      '001_syntax.ts':
        "import { defineMigration } from 'evolvekit'\nexport default defineMigration({ table: 'users', transform: (row) => ({ x: 1 }, })\n",
    },
    fragments: ['001_syntax.ts'],
  },
  {
    name: 'a default export that is not an object',
    files: { '001_number.ts': 'export default 42\n' },
    fragments: ['001_number.ts', 'default export'],
  },
  {
    name: 'no default export',
    files: {
      '001_named.ts':
        "import { defineMigration } from 'evolvekit'\nexport const migration = defineMigration({ table: 'users', transform: (row) => row })\n",
    },
    fragments: ['001_named.ts', 'default export'],
  },
  {
    name: 'a workers flag that is not a number',
    files: { '001_lower.ts': migrationSource(LOWER) },
    args: ['--workers', 'abc'],
    fragments: ['--workers', 'abc'],
  },
  {
    name: 'an unknown flag',
    files: { '001_lower.ts': migrationSource(LOWER) },
    args: ['--frobnicate'],
    fragments: ['--frobnicate'],
  },
  {
    name: 'a replication lag limit on SQLite, which has no replicas',
    files: { '001_lower.ts': migrationSource(LOWER) },
    args: ['--max-replication-lag-ms', '500'],
    fragments: ['--max-replication-lag-ms', 'needs PostgreSQL', 'drop the option'],
  },
  {
    name: 'one of two migrations does not load: neither runs',
    files: {
      '001_lower.ts': migrationSource(LOWER),
      '002_unknown_option.ts': migrationSource(`{ table: 'users', sweep: 2, transform: (row) => row }`),
    },
    fragments: ['002_unknown_option.ts', 'sweep'],
  },
]

/** Seeds users (some rows pending for LOWER), then `setup`'s schema, and returns a snapshot-taker. */
async function seeded(db: FreshDatabase, setup?: (db: FreshDatabase) => Promise<void>) {
  await createUsers(db, { count: 30 })
  await setup?.(db)
  const before = await rowsOf(db.knex, 'users')
  return async () => {
    assert.deepEqual(await trackingTables(db), [], 'no tracking tables were created')
    assert.deepEqual(await rowsOf(db.knex, 'users'), before, 'the data is unchanged')
  }
}

function usageErrorTest(d: Dialect, c: Case): void {
  it(`${c.name} is a usage error that changes nothing`, () =>
    withDb(d, async (db) => {
      const unchanged = await seeded(db, c.setup)
      const dir = await writeFiles(c.files)
      const result = await runCli(['run', '--db', db.url, '--dir', dir, ...(c.args ?? [])])
      assertUsageError(result, c.fragments)
      await unchanged()
    }))
}

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    for (const c of DB_CASES) if (!c.only || c.only === d) usageErrorTest(d, c)

    if (d === 'sqlite') {
      // SQLite lets a PRIMARY KEY hold NULLs unless it is NOT NULL or the INTEGER PRIMARY KEY rowid alias.
      it('a TEXT PRIMARY KEY that holds a NULL is a usage error that changes nothing', () =>
        withDb(d, async (db) => {
          const unchanged = await seeded(db, async () => {
            await db.knex.raw('CREATE TABLE codes (code TEXT PRIMARY KEY, label TEXT NOT NULL)')
            await db.knex.raw("INSERT INTO codes VALUES ('a', 'A'), (NULL, 'no key')")
          })
          const codes = await rowsOf(db.knex, 'codes', 'label')
          const dir = await writeFiles({
            '001_codes.ts': migrationSource(`{ table: 'codes', key: 'code', transform: (row) => ({ label: 'x' }) }`),
          })
          assertUsageError(await runCli(['run', '--db', db.url, '--dir', dir]), ['001_codes.ts', '"code"', 'allows NULL', '"key"'])
          await unchanged()
          assert.deepEqual(await rowsOf(db.knex, 'codes', 'label'), codes)
        }))

      it('an INTEGER PRIMARY KEY (the rowid alias) and a TEXT PRIMARY KEY without NULLs are accepted as keys', () =>
        withDb(d, async (db) => {
          await db.knex.raw('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL)')
          // As knex creates it: no NOT NULL on the key.
          await db.knex.raw('CREATE TABLE codes (code TEXT PRIMARY KEY, label TEXT NOT NULL)')
          await db.knex.raw("INSERT INTO items VALUES (1, 'a'), (2, 'b')")
          await db.knex.raw("INSERT INTO codes VALUES ('a', 'a'), ('b', 'b')")
          const dir = await writeFiles({
            '001_items.ts': migrationSource(`{ table: 'items', transform: (row) => ({ label: row.label.toUpperCase() }) }`),
            '002_codes.ts': migrationSource(`{ table: 'codes', key: 'code', transform: (row) => ({ label: row.label.toUpperCase() }) }`),
          })
          const result = await runCli(['run', '--db', db.url, '--dir', dir])
          assert.equal(result.code, 0, output(result))
          assert.deepEqual(
            (await rowsOf(db.knex, 'items')).map((r) => r.label),
            ['A', 'B'],
          )
          assert.deepEqual(
            (await rowsOf(db.knex, 'codes', 'code')).map((r) => r.label),
            ['A', 'B'],
          )
        }))
    }

    it('plan rejects an invalid migration the same way', () =>
      withDb(d, async (db) => {
        const unchanged = await seeded(db)
        const dir = await writeFiles({ '001_no_key.ts': migrationSource(`{ table: 'users', key: 'user_uuid', transform: (row) => row }`) })
        assertUsageError(await runCli(['plan', '--db', db.url, '--dir', dir]), ['001_no_key.ts', 'user_uuid'])
        await unchanged()
      }))

    it('a config file with an unknown field is a usage error that changes nothing', () =>
      withDb(d, async (db) => {
        const unchanged = await seeded(db)
        const connection = db.dialect === 'postgres' ? JSON.stringify(db.url) : `{ filename: ${JSON.stringify(db.file)} }`
        const cwd = await writeFiles({
          'evolve.config.ts': `import { defineConfig } from 'evolvekit'
export default defineConfig({ client: '${d === 'postgres' ? 'pg' : 'better-sqlite3'}', connection: ${connection}, batchSize: 10 } as never)
`,
          'migrations/001_lower.ts': migrationSource(LOWER),
        })
        assertUsageError(await runCli(['run'], { cwd }), ['evolve.config.ts', 'batchSize'])
        await unchanged()
      }))
  })
}

describe('files and flags', { concurrency: 2 }, () => {
  for (const c of FILE_CASES) usageErrorTest('sqlite', c)
})

describe('without a usable database', { concurrency: 2 }, () => {
  it('a --db URL of an unsupported kind is a usage error', async () => {
    const dir = await writeFiles({ '001_lower.ts': migrationSource(LOWER) })
    assertUsageError(await runCli(['run', '--db', 'mysql://x', '--dir', dir]), ['mysql://x', '--db'])
  })

  it('an unreachable PostgreSQL is one evolve: line, exit 75 (try again later), that does not print the password', async () => {
    const dir = await writeFiles({ '001_lower.ts': migrationSource(LOWER) })
    const password = 'hunter2-secret-pw'
    const result = await runCli(['run', '--db', `postgres://someone:${password}@127.0.0.1:1/app`, '--dir', dir])
    assert.equal(result.code, 75, output(result))
    assert.match(result.stderr, /^evolve: cannot reach the database postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/app .*\n$/)
    assert.ok(!`${result.stdout}${result.stderr}`.includes(password), `the password is not printed:\n${output(result)}`)
  })

  it('a SQLite file that does not exist is a usage error, and no file is created', async () => {
    const cwd = await tempDir('evk-nofile-')
    await writeFiles({ 'migrations/001_lower.ts': migrationSource(LOWER) }, cwd)
    const result = await runCli(['run', '--db', 'sqlite:./missing.db'], { cwd })
    assertUsageError(result, ['missing.db'])
    assert.deepEqual(readdirSync(cwd), ['migrations'], 'nothing was created next to the migrations')
    assert.ok(!existsSync(path.join(cwd, 'missing.db')))
  })

  it('no database configured at all is a usage error', async () => {
    const cwd = await tempDir('evk-nothing-')
    await writeFiles({ 'migrations/001_lower.ts': migrationSource(LOWER) }, cwd)
    assertUsageError(await runCli(['run'], { cwd }), ['no database configured'])
    assert.deepEqual(readdirSync(cwd), ['migrations'])
  })

  it('a fractional maxRowsPerSecond in the config file is a usage error (it bounds a batch size)', async () => {
    const cwd = await writeFiles({
      'evolve.config.ts': "import { defineConfig } from 'evolvekit'\nexport default defineConfig({ maxRowsPerSecond: 1.5 })\n",
      'migrations/001_lower.ts': migrationSource(LOWER),
    })
    assertUsageError(await runCli(['run', '--db', 'sqlite:./none.db'], { cwd }), [
      'evolve.config.ts',
      'maxRowsPerSecond',
      'must be a positive integer',
    ])
  })

  it('a URL typed without its scheme is a usage error that does not print the password', async () => {
    const dir = await writeFiles({ '001_lower.ts': migrationSource(LOWER) })
    const result = await runCli(['run', '--db', 'bob:s3cret-pw@db.example.com/app', '--dir', dir])
    assertUsageError(result, ['bob:***@db.example.com/app', 'postgres://'])
    assert.ok(!`${result.stdout}${result.stderr}`.includes('s3cret-pw'), output(result))
  })

  it('a SQLite connection given as a string names the shape it must have', async () => {
    const cwd = await writeFiles({
      'evolve.config.json': JSON.stringify({ client: 'better-sqlite3', connection: './app.db' }),
      'migrations/001_lower.ts': migrationSource(LOWER),
    })
    assertUsageError(await runCli(['run'], { cwd }), ['{ filename', '"./app.db"', 'evolve.config.json'])
  })

  it('a SQLite connection with a misspelt field names that field', async () => {
    const cwd = await writeFiles({
      'evolve.config.json': JSON.stringify({ client: 'better-sqlite3', connection: { filenam: './app.db' } }),
      'migrations/001_lower.ts': migrationSource(LOWER),
    })
    assertUsageError(await runCli(['run'], { cwd }), ['{ filename', 'not an object with "filenam"', 'evolve.config.json'])
  })

  it('a config file names a misspelt nested field by its path, and a wrong type without the shape of the whole file', async () => {
    const nested = await writeFiles({
      'evolve.config.json': JSON.stringify({
        client: 'better-sqlite3',
        connection: { filename: './app.db' },
        migrations: { directry: 'm' },
      }),
    })
    const result = await runCli(['run'], { cwd: nested })
    assertUsageError(result, ['evolve.config.json', 'unknown field "migrations.directry"'])
    const typed = await writeFiles({
      'evolve.config.json': JSON.stringify({ client: 'better-sqlite3', connection: { filename: './app.db' }, targetBatchMs: 'fast' }),
    })
    const wrongType = await runCli(['run'], { cwd: typed })
    assertUsageError(wrongType, ['evolve.config.json', 'field "targetBatchMs"'])
    assert.doesNotMatch(wrongType.stderr, /expected defineConfig/)
  })

  it('a config file with a syntax error says on which line', async () => {
    const cwd = await writeFiles({
      'evolve.config.ts': "export default {\n  client: 'better-sqlite3',\n  connection: { filename: './app.db' ,,\n}\n",
    })
    assertUsageError(await runCli(['run'], { cwd }), ['evolve.config.ts', 'cannot load this config file', '(line 3, column'])
  })

  it('a config file with minBatchSize above maxBatchSize is a usage error naming both', async () => {
    const cwd = await writeFiles({
      'evolve.config.json': JSON.stringify({
        client: 'better-sqlite3',
        connection: { filename: './app.db' },
        minBatchSize: 500,
        maxBatchSize: 10,
      }),
      'migrations/001_lower.ts': migrationSource(LOWER),
    })
    assertUsageError(await runCli(['plan'], { cwd }), ['evolve.config.json', 'minBatchSize (500) is above maxBatchSize (10)'])
  })

  it('a config file naming an unsupported client is a usage error', async () => {
    const cwd = await writeFiles({
      'evolve.config.json': JSON.stringify({ client: 'mysql2', connection: 'mysql://localhost/app' }),
      'migrations/001_lower.ts': migrationSource(LOWER),
    })
    assertUsageError(await runCli(['status'], { cwd }), ['evolve.config.json', 'mysql2'])
  })
})

describe('openEvolve', () => {
  it('refuses an option of opening by URL given with a knex, naming what to pass instead, and one without migrations refuses to run, and touches nothing', async () => {
    const dir = await tempDir()
    const file = path.join(dir, 'app.db')
    const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true })
    try {
      // Bypassing the types, as JavaScript callers do: TypeScript refuses these already.
      const open = openEvolve as (o: object) => ReturnType<typeof openEvolve>
      await assert.rejects(open({ knex, dir: './migrations' }), (err: EvolveUsageError) => {
        assert.equal(err.code, 'E_CONFIG')
        assert.match(err.message, /"dir" does not go with "knex" \(it would be ignored\): pass the migrations directory as "migrations"/)
        return true
      })
      await assert.rejects(open({ knex, db: 'sqlite:other.db' }), /"db" does not go with "knex"/)
      assert.ok(!existsSync(file), 'no connection was opened')
      const evolve = await open({ knex, migrations: dir, by: undefined, dir: undefined })
      await evolve.close()
      // Without migrations it can show status, not run: said instead of doing nothing.
      const bare = await openEvolve({ knex })
      await assert.rejects(bare.run(), /nothing to run: this admin object was opened without migrations: pass them with the knex/)
      await assert.rejects(bare.run(['001_lower']), /no migration named "001_lower": this admin object was opened without migrations/)
      await assert.rejects(bare.retry('001_lower'), /no migration named "001_lower"/)
    } finally {
      await knex.destroy()
    }
  })
})
