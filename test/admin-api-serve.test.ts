// `evolve serve` as a real process: it refuses to start without a token, never prints one,
// and steers a runner that is another real process (`evolve run`), with the event stream
// following along; SIGTERM stops it cleanly.
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { EvolveUsageError } from '../lib/errors.ts'
import { checkTokens } from '../lib/http/index.ts'
import { apiClient, openEvents, problemOf } from './helpers/admin-api.ts'
import { runCli, spawnCli, type RunningCli } from './helpers/cli.ts'
import { dialects, fresh, freshSqlite } from './helpers/databases.ts'
import { batchRows, counterHistogram, countBatches, createItems, makeProject, runRow, upMigration, waitUntil } from './helpers/fixtures.ts'

const DEPLOY = 'deploy-7f3a9c1e5b2d4f6a8c0e'
const ALICE = 'alice-1b3d5f7a9c2e4f6b8d0a'
const ROWS = 200
const GATE = 'gate.flag'
const FREE_BATCHES = 5

/** Starts `evolve serve` on a free loopback port and returns it with its URL. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<{ cli: RunningCli; url: string }> {
  const cli = spawnCli(['serve', '--port', '0', ...args], { env })
  const listening = /admin API listening on (http:\/\/127\.0\.0\.1:\d+)/
  await cli.waitFor(listening)
  return { cli, url: listening.exec(cli.stderr)![1]! }
}

/** No token, and no 8-character piece of one, anywhere in the server's output. */
function assertNoToken(output: string, tokens: string[]): void {
  for (const token of tokens) {
    for (let i = 0; i + 8 <= token.length; i++)
      assert.ok(!output.includes(token.slice(i, i + 8)), `a piece of a token was printed: ${token.slice(i, i + 8)}`)
  }
}

describe('evolve serve', { concurrency: 2 }, () => {
  it('refuses to start without a token, with a bad token file, or with a short token, and opens nothing', async () => {
    const db = await freshSqlite()
    try {
      const none = await runCli(['serve', '--port', '0', '--db', db.url])
      assert.equal(none.code, 2, none.stderr)
      assert.match(none.stderr, /EVOLVE_API_TOKEN/)
      assert.doesNotMatch(none.stderr, /listening/)
      const short = await runCli(['serve', '--port', '0', '--db', db.url], { env: { EVOLVE_API_TOKEN: 'short' } })
      assert.equal(short.code, 2)
      assert.match(short.stderr, /at least 16 characters/)
      assertNoToken(short.stdout + short.stderr, ['shortshort'])
      const file = path.join(path.dirname(db.file), 'tokens.txt')
      await writeFile(file, `# operators\nno colon here ${DEPLOY}\n`)
      const bad = await runCli(['serve', '--port', '0', '--db', db.url, '--token-file', file])
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /line 2: expected name:token/)
      assertNoToken(bad.stdout + bad.stderr, [DEPLOY])
    } finally {
      await db.drop()
    }
  })

  it('says loudly on stderr when it listens beyond loopback', async () => {
    const db = await freshSqlite()
    await db.knex.raw('select 1') // creates the file
    try {
      const cli = spawnCli(['serve', '--host', '0.0.0.0', '--port', '0', '--db', db.url], { env: { EVOLVE_API_TOKEN: DEPLOY } })
      await cli.waitFor('admin API listening')
      assert.match(cli.stderr, /WARNING: the admin API listens on 0\.0\.0\.0, reachable from the network/)
      const result = await cli.kill('SIGTERM')
      assert.equal(result.code, 0, result.stderr)
    } finally {
      await db.drop()
    }
  })

  for (const dialect of dialects) {
    it(`on ${dialect}: pause and resume through the API reach a runner in another process, the event stream follows, and no token is ever printed`, async () => {
      const db = await fresh(dialect)
      await createItems(db.knex, ROWS)
      // The runner's throttle hook holds it after its free batches while the gate file exists.
      const hook = `throttle: (() => {
        let calls = 0
        return () => (++calls > ${FREE_BATCHES} && fs.existsSync(new URL('./${GATE}', import.meta.url)) ? { reason: 'test gate', ms: 50 } : false)
      })(),`
      const project = await makeProject(db, upMigration({ batchSize: 10 }), { config: hook, bareConfig: true })
      const gate = path.join(project.dir, GATE)
      await writeFile(gate, '')
      const tokenFile = path.join(project.dir, 'tokens.txt')
      await writeFile(tokenFile, `# who may steer runs\ndeploy:${DEPLOY}\nalice: ${ALICE}\n`)
      const { cli: server, url } = await serve(['--token-file', tokenFile, ...project.dbFlags], {
        EVOLVE_API_TOKEN: 'unused-env-token-0123456789',
      })
      const deploy = apiClient(url, DEPLOY)
      const alice = apiClient(url, ALICE)
      const stream = await openEvents(deploy)
      const runner = spawnCli(['run', '--batch-size', '10'], { cwd: project.dir })
      try {
        await waitUntil('the runner held at the gate', async () => (await runRow(db.knex, project.name))?.throttleReason === 'test gate')
        assert.equal((await deploy.call('/status', { token: DEPLOY.slice(0, 12) })).status, 401)

        const paused = await deploy.call(`/runs/${project.name}/pause`, { method: 'POST', json: { reason: 'hold for the deploy' } })
        assert.deepEqual(await paused.json(), { name: project.name, state: 'paused' })
        await stream.waitFor('the pause', (e) => e.event === 'run-state' && (e.data as { to: string; by: string }).to === 'paused')
        const again = await deploy.call(`/runs/${project.name}/pause`, { method: 'POST' })
        assert.deepEqual(await again.json(), { name: project.name, state: 'paused' }, 'a second pause is answered with the state')
        await rmGate(gate)
        // The gate is open: a running run would go on now. The paused one stays put.
        await waitUntil('no batch in flight', async () => (await batchRows(db.knex, project.name)).every((b) => b.state !== 'claimed'))
        await sleep(1000) // room for a batch the runner should not start
        assert.equal(
          await countBatches(db.knex, project.name, { state: 'done' }),
          FREE_BATCHES,
          'the runner in the other process did no batch while paused',
        )
        assert.equal(runner.child.exitCode, null, 'the runner waits while paused')

        const resumed = await alice.call(`/runs/${project.name}/resume`, { method: 'POST' })
        assert.deepEqual(await resumed.json(), { name: project.name, state: 'running' })
        const result = await runner.exited
        assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
        assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS }, 'every row evolved exactly once')
        // The end was written by the runner, another process: the server's watch sees it.
        const done = await stream.waitFor('the end of the run', (e) => e.event === 'run-state' && (e.data as { to: string }).to === 'done')
        assert.match((done.data as { by: string }).by, /^runner /)
        assert.ok(stream.events.some((e) => e.event === 'progress' && (e.data as { name: string }).name === project.name))
        const status = (await (await deploy.call('/status')).json()) as { name: string; state: string }[]
        assert.deepEqual(
          status.map((s) => [s.name, s.state]),
          [[project.name, 'done']],
        )

        // Graceful: SIGTERM with an event stream open still ends the server, with exit 0.
        const stopped = await server.kill('SIGTERM')
        assert.equal(stopped.code, 0, stopped.stderr)
        assert.match(stopped.stderr, /admin API stopped/)
        const audit = stopped.stdout
          .split('\n')
          .filter((line) => line.includes('"audit"'))
          .map((line) => (JSON.parse(line) as { audit: Record<string, unknown> }).audit)
        assert.deepEqual(
          audit.map((a) => [a.by, a.action, a.run, a.from, a.to, a.changed, a.address]),
          [
            ['deploy', 'pause', project.name, 'running', 'paused', true, '127.0.0.1'],
            ['deploy', 'pause', project.name, 'paused', 'paused', false, '127.0.0.1'],
            ['alice', 'resume', project.name, 'paused', 'running', true, '127.0.0.1'],
          ],
        )
        assert.equal(audit[0]!.reason, 'hold for the deploy')
        assert.ok(!Number.isNaN(Date.parse(String(audit[0]!.at))))
        assertNoToken(stopped.stdout + stopped.stderr, [DEPLOY, ALICE, 'unused-env-token-0123456789'])
      } finally {
        stream.close()
        await rmGate(gate)
        await runner.kill()
        await server.kill()
        await project.cleanup()
        await db.drop()
      }
    })
  }
})

const rmGate = (file: string) => rm(file, { force: true })

describe('evolve serve with several names and token files', { concurrency: 2 }, () => {
  it('refuses a token file in which two names share one token, naming both and printing neither token', async () => {
    const db = await freshSqlite()
    try {
      const file = path.join(path.dirname(db.file), 'tokens.txt')
      await writeFile(file, `deploy-pipeline:${DEPLOY}\nalice:${ALICE}\nbob:${DEPLOY}\n`)
      const shared = await runCli(['serve', '--port', '0', '--db', db.url, '--token-file', file])
      assert.equal(shared.code, 2, shared.stderr)
      assert.match(shared.stderr, /"deploy-pipeline" and "bob" have the same token: give each name its own/)
      assert.equal(shared.stderr.trim().split('\n').length, 1, shared.stderr)
      assert.doesNotMatch(shared.stderr, /listening/)
      assertNoToken(shared.stdout + shared.stderr, [DEPLOY, ALICE])
      assert.throws(
        () =>
          checkTokens([
            { name: 'deploy-pipeline', token: DEPLOY },
            { name: 'bob', token: DEPLOY },
          ]),
        (err: EvolveUsageError) => err.code === 'E_API_TOKEN' && /"deploy-pipeline" and "bob" have the same token/.test(err.message),
      )
    } finally {
      await db.drop()
    }
  })

  it('merges the tokens of --token-file given twice, and refuses a name or a token that is in both files', async () => {
    const db = await freshSqlite()
    await db.knex.raw('select 1') // creates the file
    const dir = path.dirname(db.file)
    const [deployFile, aliceFile, againFile] = ['deploy.txt', 'alice.txt', 'again.txt'].map((f) => path.join(dir, f))
    await writeFile(deployFile!, `deploy:${DEPLOY}\n`)
    await writeFile(aliceFile!, `alice:${ALICE}\n`)
    try {
      const { cli: server, url } = await serve(['--db', db.url, '--token-file', deployFile!, '--token-file', aliceFile!])
      try {
        assert.match(server.stderr, /tokens: deploy, alice/)
        assert.equal((await apiClient(url, DEPLOY).call('/read-only')).status, 200)
        assert.equal((await apiClient(url, ALICE).call('/read-only')).status, 200)
      } finally {
        await server.kill('SIGTERM')
      }
      for (const again of [`bob:${DEPLOY}`, `deploy:${ALICE}-other`]) {
        await writeFile(againFile!, `${again}\n`)
        const refused = await runCli(['serve', '--port', '0', '--db', db.url, '--token-file', deployFile!, '--token-file', againFile!])
        assert.equal(refused.code, 2, refused.stderr)
        assert.match(refused.stderr, /--token-file .*deploy\.txt and .*again\.txt: /)
        assert.match(
          refused.stderr,
          again.startsWith('bob') ? /"deploy" and "bob" have the same token/ : /token name "deploy" appears twice/,
        )
        assertNoToken(refused.stdout + refused.stderr, [DEPLOY, ALICE])
      }
    } finally {
      await db.drop()
    }
  })
})
describe('evolve serve with a long migration name', () => {
  it('reaches a run whose name is 103 characters long, and answers a too long or malformed path as problem+json', async () => {
    const db = await freshSqlite()
    await createItems(db.knex, 20)
    const long = `20260101000000_${'backfill-'.repeat(9)}${'x'.repeat(7)}`
    const project = await makeProject(db, upMigration({ batchSize: 10 }), { name: long })
    try {
      const run = await runCli(['run', ...project.flags], { cwd: project.dir })
      assert.equal(run.code, 0, run.stderr)
      const { cli: server, url } = await serve(project.dbFlags, { EVOLVE_API_TOKEN: DEPLOY })
      try {
        const api = apiClient(url, DEPLOY)
        const one = await api.call(`/runs/${long}`)
        assert.equal(one.status, 200, await one.clone().text())
        assert.equal(((await one.json()) as { state: string }).state, 'done')
        const pause = await api.call(`/runs/${long}/pause`, { method: 'POST' })
        assert.equal(pause.status, 409)
        assert.equal((await problemOf(pause)).state, 'done')
        const tooLong = await api.call(`/runs/${'x'.repeat(1001)}`, { token: null })
        assert.equal(tooLong.status, 414)
        assert.match(String((await problemOf(tooLong)).detail), /longer than 1000 characters/)
        const malformed = await api.call('/runs/%E0%A4%A', { token: null })
        assert.equal(malformed.status, 400)
        assert.match(String((await problemOf(malformed)).detail), /malformed %-escape/)
      } finally {
        await server.kill('SIGTERM')
      }
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })
})
