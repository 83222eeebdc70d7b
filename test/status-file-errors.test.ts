// status loads the files of started runs to compare them with what their runs stored: a file whose
// import never settles (a top-level await on a call that hangs) or that throws is said on its run,
// and status answers for the others, in the library, over the admin API and in a script that ends.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { openEvolve } from '../lib/index.ts'
import { startApi } from './helpers/admin-api.ts'
import { output, repoRoot, runCli } from './helpers/cli.ts'
import { type FreshDatabase, withDb } from './helpers/databases.ts'
import { createUsers, tempDir, writeFiles } from './helpers/fixtures.ts'

// Lower-cases the e-mails of one residue class of ids: three rows each of nine.
const migration = (mod: number) => `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)').whereRaw('id % 3 = ${mod}'),
  transform: (row) => ({ email: row.email.toLowerCase() }),
})
`
/** Notes each time it is evaluated in `marker`, then awaits what never comes. */
const hanging = (marker: string) => `import { appendFileSync } from 'node:fs'
appendFileSync(${JSON.stringify(marker)}, 'evaluated\\n')
await new Promise(() => {})
export default {}
`
const throwing = "throw new Error('no config for this migration')\n"

/** Three migrations run to done, then the files of the second and third replaced: one hangs, one throws. */
async function doneThenBroken(db: FreshDatabase): Promise<{ dir: string; marker: string }> {
  await createUsers(db, { count: 9, pending: () => true })
  const dir = await writeFiles({ '001_ok.ts': migration(0), '002_hangs.ts': migration(1), '003_throws.ts': migration(2) })
  const evolve = await openEvolve({ knex: db.knex, migrations: dir })
  const results = await (await evolve.run()).done
  assert.deepEqual(
    results.map((r) => r.state),
    ['done', 'done', 'done'],
  )
  const marker = path.join(await tempDir('evk-marker-'), 'evaluations')
  await writeFile(marker, '')
  await writeFiles({ '002_hangs.ts': hanging(marker), '003_throws.ts': throwing }, dir)
  return { dir, marker }
}

type Row = { name: string; state: string; done: number; fileError: string | null }
const brief = (rows: Row[]) => rows.map(({ name, state, done, fileError }) => ({ name, state, done, fileError }))

function assertNotes(rows: Row[]): void {
  const [ok, hangs, throws] = brief(rows)
  assert.deepEqual(ok, { name: '001_ok', state: 'done', done: 3, fileError: null })
  assert.deepEqual({ ...hangs, fileError: undefined }, { name: '002_hangs', state: 'done', done: 3, fileError: undefined })
  assert.match(hangs!.fileError ?? '', /^does not load: its import has not settled in 5 s/)
  assert.deepEqual({ ...throws, fileError: undefined }, { name: '003_throws', state: 'done', done: 3, fileError: undefined })
  assert.match(throws!.fileError ?? '', /^does not load: .*no config for this migration/)
  assert.doesNotMatch(throws!.fileError!, /003_throws\.ts/, 'said on its run: the file is not named again')
}

describe('status with started runs whose files no longer load', () => {
  it(
    'answers for every run: a file whose import never settles and one that throws are said on their runs, the others keep their figures',
    { timeout: 120_000 },
    () =>
      withDb('sqlite', async (db) => {
        const { dir, marker } = await doneThenBroken(db)
        const evolve = await openEvolve({ knex: db.knex, migrations: dir })
        const api = await startApi(evolve)
        try {
          assertNotes(await evolve.status())
          // Asked again (the terminal UI polls): the import under way is waited on, not started again.
          assertNotes(await evolve.status())
          assert.match((await evolve.progress('002_hangs')).fileError ?? '', /has not settled/)
          const res = await api.call('/status')
          assert.equal(res.status, 200)
          assertNotes((await res.json()) as Row[])
          assert.equal(await readFile(marker, 'utf8'), 'evaluated\n', 'the hanging file was evaluated once')
        } finally {
          await api.close()
        }
      }),
  )

  it('leaves a library script free to end: status() answers, close() returns, and the process exits by itself', { timeout: 120_000 }, () =>
    withDb('sqlite', async (db) => {
      const { dir } = await doneThenBroken(db)
      const scriptDir = await tempDir('evk-script-')
      const script = path.join(scriptDir, 'status.mts')
      await writeFile(
        script,
        `import { openEvolve } from ${JSON.stringify(path.join(repoRoot, 'lib', 'index.ts'))}
const evolve = await openEvolve({ db: process.argv[2], dir: process.argv[3] })
console.log(JSON.stringify(await evolve.status()))
await evolve.close()
`,
      )
      const child = spawn(process.execPath, ['--import', 'tsx', script, db.url, dir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
      assert.equal(code, 0, stderr)
      assertNotes(JSON.parse(stdout) as Row[])
    }),
  )
})

describe('evolve status (the CLI) with a file whose import never settles', () => {
  it(
    'stops after its bound (30 s) with a one-line error naming the migration, exit 2, nothing on stdout, instead of hanging',
    { timeout: 150_000 },
    () =>
      withDb('sqlite', async (db) => {
        const { dir } = await doneThenBroken(db)
        await writeFiles({ '003_throws.ts': migration(2) }, dir) // the hanging file alone
        const result = await runCli(['status', '--json', '--db', db.url, '--dir', dir], { timeoutMs: 100_000 })
        assert.equal(result.code, 2, output(result))
        assert.equal(result.stdout, '')
        assert.match(
          result.stderr,
          /^evolve: migration 002_hangs does not load: its import has not settled in 30 s \(a top-level await\?\): fix its file\n/,
        )
      }),
  )
})
