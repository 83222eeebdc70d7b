// The exit codes a script, CI job or supervisor acts on: 75 when the database cannot be reached
// for now (try again later), 2 when a person must mend something first, 1 from `status
// --exit-status` when a run shown failed, 130 with a last JSON line on a second Ctrl-C; and
// `--version` naming the tracking schema it writes.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { describe, it } from 'node:test'
import { assertUsageError, exitOf, jsonLines, output, repoRoot, runCli, spawnCli, type CliResult } from './helpers/cli.ts'
import { withDb } from './helpers/databases.ts'
import {
  claimOwners,
  createItems,
  freePort,
  makeProject,
  migrationSource,
  setMigration,
  tempDir,
  upMigration,
  waitUntil,
  withAppRole,
  writeFiles,
} from './helpers/fixtures.ts'

const EX_TEMPFAIL = 75

/** Exit 75, one `evolve: cannot reach the database …` line on stderr containing `fragment`, no stack. */
function assertUnavailable(result: CliResult, fragment: string): void {
  assert.equal(result.code, EX_TEMPFAIL, output(result))
  const lines = result.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line on stderr:\n${result.stderr}`)
  assert.match(lines[0]!, /^evolve: cannot reach the database /)
  assert.ok(lines[0]!.includes(fragment), `stderr names ${JSON.stringify(fragment)}: ${lines[0]}`)
}

/** The flags of a `run` against `url` with one migration file; nothing is ever reached. */
async function runFlags(url: string): Promise<string[]> {
  const dir = await writeFiles({ '001_bump.ts': setMigration(10) })
  return ['--db', url, '--dir', dir]
}

describe('a database that cannot be reached for now exits 75 (EX_TEMPFAIL)', { concurrency: true }, () => {
  it('a closed loopback port: one evolve: line, and the --json and --log-format json final lines carry exit code 75', async () => {
    const flags = await runFlags(`postgres://evk@127.0.0.1:${await freePort()}/app`)
    assertUnavailable(await runCli(['status', ...flags]), 'ECONNREFUSED')

    const events = await runCli(['run', ...flags, '--json'])
    assertUnavailable(events, 'ECONNREFUSED')
    assert.deepEqual(
      jsonLines(events.stdout).map(({ event, code, exitCode }) => ({ event, code, exitCode })),
      [{ event: 'error', code: 'E_CONNECTION', exitCode: EX_TEMPFAIL }],
    )

    const log = await runCli(['run', ...flags, '--log-format', 'json'])
    assertUnavailable(log, 'ECONNREFUSED')
    assert.deepEqual(
      jsonLines(log.stdout).map(({ event, code, exitCode }) => ({ event, code, exitCode })),
      [{ event: 'fatal', code: 'E_CONNECTION', exitCode: EX_TEMPFAIL }],
    )
  })

  it('a host name that does not resolve', async () => {
    // .invalid never resolves (RFC 6761): ENOTFOUND, or EAI_AGAIN where no resolver answers.
    const result = await runCli(['run', ...(await runFlags('postgres://evk@evk-no-such-host.invalid:5432/app'))])
    assertUnavailable(result, 'evk-no-such-host.invalid')
  })

  it('a server that accepts the connection and never answers: exit 75 once the connect timeout passes, not a hang', async () => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket.on('error', () => {}))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as net.AddressInfo
      // The CLI's socket stays open as long as this server holds it: only an exit of its own ends it.
      const result = await runCli(['status', ...(await runFlags(`postgres://evk@127.0.0.1:${port}/app`))], { timeoutMs: 120_000 })
      assertUnavailable(result, 'no answer within 10 s')
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('a role over its connection limit (too many connections, 53300)', () =>
    withAppRole(1, async (db, app) => {
      await db.knex.raw(`ALTER ROLE ${app.role} CONNECTION LIMIT 0`)
      assertUnavailable(await runCli(['status', ...(await runFlags(app.url))]), 'too many connections')
    }))
})

describe('what a person must mend stays exit 2', () => {
  it('a wrong password (28P01) and a database that does not exist (3D000)', () =>
    withAppRole(1, async (_db, app) => {
      const wrongPassword = new URL(app.url)
      wrongPassword.password = 'not-the-password'
      assertUsageError(await runCli(['status', ...(await runFlags(wrongPassword.href))]), ['password authentication failed'])
      const noDatabase = new URL(app.url)
      noDatabase.pathname = '/evk_no_such_database'
      assertUsageError(await runCli(['status', ...(await runFlags(noDatabase.href))]), ['"evk_no_such_database" does not exist'])
    }))
})

describe('status --exit-status', () => {
  it('exits 1 when a run shown is failed, also with --json; 0 while runs are done or pending; status without it exits 0', () =>
    withDb('sqlite', async (db) => {
      await createItems(db.knex, 20)
      const dir = await writeFiles({
        '001_bump.ts': setMigration(10),
        '002_broken.ts': migrationSource(`{
  table: 'items',
  batchSize: 10,
  up: async (rows, { trx }) => {
    if (rows.some((r) => r.id === 3)) throw new Error('row 3 is broken')
    await trx('items').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
  },
}`),
      })
      const flags = ['--db', db.url, '--dir', dir]
      const status = (...more: string[]) => runCli(['status', ...flags, ...more])

      const done = await runCli(['run', '001_bump', ...flags])
      assert.equal(done.code, 0, output(done))
      const donePending = await status('--exit-status')
      assert.equal(donePending.code, 0, output(donePending))

      const failed = await runCli(['run', '002_broken', ...flags])
      assert.equal(failed.code, 1, output(failed))
      const table = await status('--exit-status')
      assert.equal(table.code, 1, output(table))
      assert.match(table.stdout, /002_broken\s+failed/)
      const json = await status('--exit-status', '--json')
      assert.equal(json.code, 1, output(json))
      const states = (JSON.parse(json.stdout) as { name: string; state: string }[]).map(({ name, state }) => ({ name, state }))
      assert.deepEqual(states, [
        { name: '001_bump', state: 'done' },
        { name: '002_broken', state: 'failed' },
      ])
      for (const plain of [await status(), await status('--json')]) assert.equal(plain.code, 0, output(plain))
    }))
})

describe('--version', () => {
  it('prints the version first and then the tracking schema version it writes, without any database', () =>
    withDb('sqlite', async (db) => {
      // No config, no DATABASE_URL, no migrations here: --version must not look for a database.
      const version = await runCli(['--version'], { cwd: await tempDir('evk-version-') })
      assert.equal(version.code, 0, output(version))
      const match = /^(\S+) \(tracking schema (\d+)\)\n$/.exec(version.stdout)
      assert.ok(match, `"<version> (tracking schema N)": ${JSON.stringify(version.stdout)}`)
      const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }
      assert.equal(match[1], pkg.version)
      // The number is the one a run writes into the tracking tables it creates.
      await createItems(db.knex, 3)
      const run = await runCli(['run', ...(await runFlags(db.url))])
      assert.equal(run.code, 0, output(run))
      const meta = await db.knex('evolve_meta').where({ key: 'schema_version' }).first()
      assert.equal(match[2], meta?.value)
    }))
})

describe('a second Ctrl-C', { concurrency: true }, () => {
  for (const [flag, last] of [
    [['--json'], { event: 'error', code: 'E_ABORTED', exitCode: 130 }],
    [['--log-format', 'json'], { event: 'fatal', code: 'E_ABORTED', exitCode: 130, level: 60 }],
  ] as const) {
    it(`exits 130 and ends the ${flag.join(' ')} lines as a fatal error does, naming the abort`, () =>
      withDb('sqlite', async (db) => {
        await createItems(db.knex, 40)
        const gate = (dir: string) => path.join(dir, 'gate')
        // Rows 1-10 go through; the batch from row 11 on waits while the gate file exists, so the
        // first Ctrl-C's "after the current batch" never comes.
        const project = await makeProject(db, (dir) => upMigration({ batchSize: 10, gate: [gate(dir), 10] }))
        await writeFile(gate(project.dir), '')
        try {
          const run = spawnCli(['run', ...project.flags, '--batch-size', '10', ...flag])
          await waitUntil('a batch waiting at the gate', async () => (await claimOwners(db.knex, project.name, 10)).length > 0)
          run.child.kill('SIGINT')
          await run.waitFor('evolve: stopping after the current batch')
          run.child.kill('SIGINT')
          const result = await exitOf(run)
          assert.equal(result.code, 130, output(result))
          const final = jsonLines(result.stdout).at(-1)!
          const picked = Object.fromEntries(Object.keys(last).map((key) => [key, final[key]]))
          assert.deepEqual(picked, last, output(result))
          assert.match(result.stderr.trimEnd().split('\n').at(-1)!, /^evolve: aborted by a second Ctrl-C/)
        } finally {
          await project.cleanup()
        }
      }))
  }
})
