// How the real CLI loads the files of a migrations directory: CommonJS migrations (`require`,
// `module.exports`) next to ES modules and TypeScript, and the rule for helper modules (a file
// name starting with `_` is skipped; any other file must export a migration).
import assert from 'node:assert/strict'
import { utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { openEvolve } from '../lib/index.ts'
import { output, runCli } from './helpers/cli.ts'
import { type FreshDatabase, withDb } from './helpers/databases.ts'
import { createUsers, newEmail, rowsOf, runRow, trackingTables, writeFiles } from './helpers/fixtures.ts'

// Lower-cases the e-mails of one residue class of ids, so each migration has rows of its own.
const spec = (mod: number) => `{
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)').whereRaw('id % 3 = ${mod}'),
  transform: (row) => ({ email: row.email.toLowerCase() }),
}`
const cjs = (mod: number) => `const { defineMigration } = require('evolvekit')\nmodule.exports = defineMigration(${spec(mod)})\n`
const esm = (mod: number) => `import { defineMigration } from 'evolvekit'\nexport default defineMigration(${spec(mod)})\n`

/** Every row lower-case: each migration did its share. */
async function assertAllEvolved(db: FreshDatabase): Promise<void> {
  for (const row of await rowsOf(db.knex, 'users')) assert.equal(row.email, newEmail(row.id as number), `user ${String(row.id)}`)
}

function assertOneLineError(result: Awaited<ReturnType<typeof runCli>>, fragments: string[]): void {
  assert.equal(result.code, 2, output(result))
  const lines = result.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line on stderr:\n${result.stderr}`)
  for (const fragment of fragments) assert.ok(lines[0]!.includes(fragment), `stderr names ${JSON.stringify(fragment)}: ${lines[0]}`)
}

describe('loading migration files', { concurrency: 2 }, () => {
  it('a process that stays up runs a migration file as it is now: a retry after the file was fixed runs the fix', () =>
    withDb('sqlite', async (db) => {
      const broken = `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'users',
  transform: (row) => {
    if (row.id % 2 === 0) throw new Error('not fixed yet')
    return { email: row.email.toLowerCase() }
  },
})
`
      const cwd = await writeFiles({ 'migrations/001_fix.ts': broken })
      const file = path.join(cwd, 'migrations', '001_fix.ts')
      await createUsers(db, { count: 20, pending: () => true })
      const evolve = await openEvolve({ db: db.url, dir: path.join(cwd, 'migrations') })
      try {
        await (
          await evolve.run(['001_fix'])
        ).done
        assert.equal((await evolve.failures('001_fix')).length, 10, 'the even ids failed')
        await writeFile(file, broken.replace("throw new Error('not fixed yet')", 'return { email: row.email.toLowerCase() }'))
        await utimes(file, new Date(), new Date(Date.now() + 5000)) // a later mtime, whatever the clock's resolution
        await (
          await evolve.retry('001_fix')
        ).done
        assert.deepEqual(await evolve.failures('001_fix'), [], 'the retry ran the fixed file')
      } finally {
        await evolve.close()
      }
      await assertAllEvolved(db)
    }))

  it('CommonJS migrations, as .js in a package without "type": "module" and as .cjs, are listed by status and evolved by run', () =>
    withDb('sqlite', async (db) => {
      // A CommonJS project, as many knex projects are: no "type" in its package.json.
      const cwd = await writeFiles({
        'package.json': JSON.stringify({ name: 'cjs-app', version: '1.0.0' }),
        'migrations/001_plain.js': cjs(0),
        'migrations/002_explicit.cjs': cjs(1),
        'migrations/003_module.mjs': esm(2),
      })
      await createUsers(db, { count: 30, pending: () => true })
      const status = await runCli(['status', '--json', '--db', db.url], { cwd })
      assert.equal(status.code, 0, output(status))
      const listed = (JSON.parse(status.stdout) as { name: string; state: string }[]).map((e) => `${e.name} ${e.state}`)
      assert.deepEqual(listed, ['001_plain pending', '002_explicit pending', '003_module pending'])

      const run = await runCli(['run', '--db', db.url], { cwd })
      assert.equal(run.code, 0, output(run))
      for (const name of ['001_plain', '002_explicit', '003_module']) assert.equal((await runRow(db.knex, name))?.state, 'done', name)
      await assertAllEvolved(db)
    }))

  it('a file whose name starts with _ is a helper: status and run skip it, and migrations import it', () =>
    withDb('sqlite', async (db) => {
      const dir = await writeFiles({
        '_lower.ts': 'export const lower = (email: string): string => email.toLowerCase()\n',
        '_shared.cjs': "exports.table = 'users'\n",
        '001_ts.ts': `import { defineMigration } from 'evolvekit'
import { lower } from './_lower.ts'
export default defineMigration({ table: 'users', pending: (q) => q.whereRaw('email <> lower(email)'), transform: (row) => ({ email: lower(row.email) }) })
`,
        '002_cjs.cjs': `const { defineMigration } = require('evolvekit')
const { table } = require('./_shared.cjs')
module.exports = defineMigration({ table, pending: (q) => q.whereRaw('email <> lower(email)'), transform: (row) => ({ email: row.email.toLowerCase() }) })
`,
      })
      await createUsers(db, { count: 12 })
      const status = await runCli(['status', '--json', '--db', db.url, '--dir', dir])
      assert.equal(status.code, 0, output(status))
      assert.deepEqual(
        (JSON.parse(status.stdout) as { name: string }[]).map((e) => e.name),
        ['001_ts', '002_cjs'],
      )
      const run = await runCli(['run', '--db', db.url, '--dir', dir])
      assert.equal(run.code, 0, output(run))
      assert.equal((await runRow(db.knex, '001_ts'))?.state, 'done')
      await assertAllEvolved(db)
    }))

  for (const [file, source] of [
    ['helpers.ts', 'export const lower = (email: string): string => email.toLowerCase()\n'],
    ['helpers.cjs', 'module.exports = { lower: (email) => email.toLowerCase() }\n'],
  ] as const) {
    it(`a file that exports no migration (${file}) is a one-line error naming it and the helper rule, and nothing runs`, () =>
      withDb('sqlite', async (db) => {
        const dir = await writeFiles({ '001_lower.ts': esm(0), [file]: source })
        await createUsers(db, { count: 9, pending: () => true })
        const before = await rowsOf(db.knex, 'users')
        const result = await runCli(['run', '--db', db.url, '--dir', dir])
        assertOneLineError(result, [file, 'defineMigration', 'start its file name with "_"'])
        assert.deepEqual(await rowsOf(db.knex, 'users'), before, 'the data is unchanged')
        assert.deepEqual(await trackingTables(db), [], 'no tracking tables were created')
      }))
  }

  for (const [what, source, fragment] of [
    ['throws on import', "throw new Error('no config for this migration')\n", 'no config for this migration'],
    [
      'has a syntax error',
      "import { defineMigration } from 'evolvekit'\nexport default defineMigration({ table: 'users',\n",
      'cannot load this migration',
    ],
    ['imports a missing module', "import { lower } from './_nowhere.ts'\nexport default lower\n", '_nowhere'],
    ['has no default export', "export const table = 'users'\n", 'no default export'],
  ] as const) {
    it(`status, text and --json, stops with a one-line error naming a migration file that ${what}, and creates nothing`, () =>
      withDb('sqlite', async (db) => {
        const dir = await writeFiles({ '001_lower.ts': esm(0), '002_broken.ts': source })
        await createUsers(db, { count: 9, pending: () => true })
        for (const json of [[], ['--json']]) {
          const result = await runCli(['status', ...json, '--db', db.url, '--dir', dir])
          assertOneLineError(result, ['002_broken.ts', fragment])
          assert.equal(result.stdout, '', 'no table, no row that looks pending')
        }
        assert.deepEqual(await trackingTables(db), [], 'no tracking tables were created')
      }))
  }

  it('a CommonJS knexfile (module.exports) names the database', () =>
    withDb('sqlite', async (db) => {
      assert.ok(db.dialect === 'sqlite')
      const cwd = await writeFiles({
        'knexfile.cjs': `module.exports = { client: 'better-sqlite3', connection: { filename: ${JSON.stringify(db.file)} }, useNullAsDefault: true }\n`,
        'migrations/001_lower.cjs': cjs(0),
      })
      await createUsers(db, { count: 9, pending: (id) => id % 3 === 0 })
      const run = await runCli(['run'], { cwd })
      assert.equal(run.code, 0, output(run))
      await assertAllEvolved(db)
    }))
})
