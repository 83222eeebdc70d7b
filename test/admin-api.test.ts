// The admin HTTP API on a real loopback port, against real databases, through global fetch:
// every endpoint, auth, validation, errors, steering a run, retry-failures and the event stream.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Knex } from 'knex'
import { type Evolve, createMigration, defineMigration, openEvolve } from '../lib/index.ts'
import { type ApiServer, TOKEN, openEvents, problemOf, startApi } from './helpers/admin-api.ts'
import { dialects, fresh, runnerKnex, type FreshDatabase } from './helpers/databases.ts'
import { createUsers, migrationSource, tempDir, writeFiles } from './helpers/fixtures.ts'
import { waitUntil } from './helpers/fixtures.ts'

const POISONED = '20260101000000_count'
const GATED = '20260101000001_gated'
const NEVER = '20260101000002_never'
const ROWS = 40
const BAD = (id: number) => id % 10 === 0

/** Migrations built in code: a poisoned one (until `poison.on` is false), a gated one, one that never runs. */
function migrations(poison: { on: boolean }) {
  return [
    createMigration(
      POISONED,
      defineMigration({
        table: 'users',
        batchSize: 10,
        transform: (row) => {
          if (poison.on && row.bad) throw new Error('poison row')
          return { counter: Number(row.counter) + 1 }
        },
      }),
    ),
    createMigration(GATED, defineMigration({ table: 'users', batchSize: 10, transform: (row) => ({ dup: row.dup }) })),
    createMigration(NEVER, defineMigration({ table: 'users', batchSize: 10, transform: (row) => ({ dup: row.dup }) })),
  ]
}

const PROTECTED: [string, string][] = [
  ['GET', '/status'],
  ['GET', `/runs/${POISONED}`],
  ['GET', `/runs/${POISONED}/failures`],
  ['GET', '/read-only'],
  ['PUT', '/read-only'],
  ['POST', `/runs/${GATED}/pause`],
  ['POST', `/runs/${GATED}/resume`],
  ['POST', `/runs/${GATED}/cancel`],
  ['POST', `/runs/${POISONED}/retry-failures`],
  ['GET', '/events'],
  ['GET', '/metrics'],
  ['GET', '/openapi.json'],
  ['GET', '/no-such-endpoint'],
]

for (const dialect of dialects) {
  describe(`admin API on ${dialect}`, { concurrency: 1 }, () => {
    let db: FreshDatabase
    let runnerDb: Knex
    let apiDb: Knex
    let runner: Evolve
    let evolve: Evolve
    let api: ApiServer
    const poison = { on: true }
    // Closed only while the gated run is under test: the hook holds every run of `runner`.
    const gate = { closed: false }

    before(async () => {
      db = await fresh(dialect)
      await createUsers(db, { count: ROWS, bad: BAD })
      runnerDb = runnerKnex(db)
      apiDb = runnerKnex(db)
      // The runner's side: its throttle hook holds the gated run before its first batch.
      const hold = () => gate.closed && { reason: 'test gate', ms: 20 }
      runner = await openEvolve({ knex: runnerDb, migrations: migrations(poison), run: { throttle: hold } })
      const first = await runner.run([POISONED])
      assert.equal((await first.done)[0]!.state, 'failed')
      evolve = await openEvolve({ knex: apiDb, migrations: migrations(poison) })
      api = await startApi(evolve)
    })

    after(async () => {
      await api?.close()
      await runnerDb?.destroy()
      await apiDb?.destroy()
      await db?.drop()
    })

    it('answers /healthz without a token and every other endpoint only with a good one (401 with WWW-Authenticate: Bearer, no detail)', async () => {
      const health = await api.call('/healthz', { token: null })
      assert.equal(health.status, 200)
      assert.deepEqual(await health.json(), { ok: true })
      for (const [method, path] of PROTECTED) {
        for (const token of [null, 'wrong-token-0123456789abcdef', TOKEN.slice(0, -1), `${TOKEN}x`]) {
          const res = await api.call(path, { method, token, json: method === 'GET' ? undefined : { readOnly: true } })
          assert.equal(res.status, 401, `${method} ${path} with token ${token === null ? 'none' : 'wrong'}`)
          assert.equal(res.headers.get('www-authenticate'), 'Bearer')
          assert.deepEqual(await problemOf(res), { type: 'about:blank', title: 'Unauthorized', status: 401, code: 'E_UNAUTHORIZED' })
        }
      }
      const basic = await api.call('/status', {
        token: null,
        headers: { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` },
      })
      assert.equal(basic.status, 401, 'only Bearer')
      assert.equal((await runner.progress(GATED)).state, 'pending', 'a refused request changed nothing')
    })

    it('serves status as `evolve status --json` does, one run, failures page by page, metrics and the OpenAPI document', async () => {
      const status = await api.call('/status')
      assert.equal(status.status, 200)
      assert.deepEqual(await status.json(), JSON.parse(JSON.stringify(await evolve.status())))
      const one = (await (await api.call(`/runs/${POISONED}`)).json()) as { name: string; state: string; failed: number }
      assert.equal(one.name, POISONED)
      assert.equal(one.state, 'failed')
      assert.equal(one.failed, ROWS / 10)

      const first = (await (await api.call(`/runs/${POISONED}/failures?limit=3`)).json()) as { failures: { key: unknown }[]; next: unknown }
      assert.deepEqual(
        first.failures.map((f) => f.key),
        [10, 20, 30],
      )
      assert.equal(first.next, 30)
      const second = (await (await api.call(`/runs/${POISONED}/failures?limit=3&after=${first.next}`)).json()) as typeof first
      assert.deepEqual(
        second.failures.map((f) => f.key),
        [40],
      )
      assert.equal(second.next, null)
      // A full last page says it is the last, and every page gives the run's total.
      const whole = (await (await api.call(`/runs/${POISONED}/failures?limit=${ROWS / 10}`)).json()) as typeof first & { total: number }
      assert.equal(whole.failures.length, ROWS / 10)
      assert.equal(whole.next, null)
      assert.equal(whole.total, ROWS / 10)
      const notRun = await api.call(`/runs/${NEVER}/failures`)
      assert.equal(notRun.status, 409)
      assert.equal((await problemOf(notRun)).state, 'pending')

      const metrics = await api.call('/metrics')
      assert.equal(metrics.status, 200)
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/)
      const text = await metrics.text()
      assert.match(text, new RegExp(`evolve_run_state\\{migration="${POISONED}",state="failed"\\} 1`))
      assert.match(text, new RegExp(`evolve_run_rows_failed\\{migration="${POISONED}"\\} ${ROWS / 10}`))

      const doc = (await (await api.call('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> }
      assert.equal(doc.openapi, '3.1.0')
      for (const [method, path] of PROTECTED.filter(([, p]) => p !== '/no-such-endpoint')) {
        const templated = path.replace(/\/runs\/[^/]+/, '/runs/{name}')
        assert.ok(doc.paths[templated]?.[method.toLowerCase()], `${method} ${templated} is documented`)
      }
      const body = doc.paths['/read-only']!.put as { requestBody: { content: { 'application/json': { schema: { properties: object } } } } }
      assert.deepEqual(Object.keys(body.requestBody.content['application/json'].schema.properties).sort(), [
        'forSeconds',
        'force',
        'message',
        'readOnly',
        'tables',
      ])
    })

    it('refuses malformed JSON, unknown fields and wrong types with 400 naming the field, and a body over 16 KiB with 413, changing nothing', async () => {
      const pause = `/runs/${GATED}/pause`
      const cases: [RequestInit & { json?: unknown }, number, string | undefined, RegExp][] = [
        [{ method: 'POST', body: '{"reason": ', headers: { 'content-type': 'application/json' } }, 400, undefined, /not valid JSON/],
        [{ method: 'POST', json: { reason: 5 } }, 400, 'reason', /reason/],
        [{ method: 'POST', json: { reason: 'x', force: true } }, 400, 'force', /unknown field "force"/],
        [{ method: 'POST', json: [1, 2] }, 400, undefined, /JSON object/],
        [{ method: 'POST', json: { reason: 'x'.repeat(17 * 1024) } }, 413, undefined, /larger than the limit/],
        [
          { method: 'POST', body: 'reason=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
          415,
          undefined,
          /application\/json/,
        ],
      ]
      for (const [init, status, field, detail] of cases) {
        const res = await api.call(pause, init)
        const problem = await problemOf(res)
        assert.equal(res.status, status, JSON.stringify(problem))
        assert.equal(problem.field, field)
        assert.match(String(problem.detail), detail)
      }
      for (const [query, field] of [
        ['limit=abc', 'limit'],
        ['limit=0', 'limit'],
        ['limit=2&sort=key', 'sort'],
        ['after=[10,1]', 'after'],
      ]) {
        const res = await api.call(`/runs/${POISONED}/failures?${query}`)
        assert.equal(res.status, 400, query)
        assert.equal((await problemOf(res)).field, field)
      }
      const retry = await api.call(`/runs/${POISONED}/retry-failures`, { method: 'POST', json: { reason: 'no fields here' } })
      assert.equal(retry.status, 400)
      assert.equal((await runner.progress(GATED)).state, 'pending')
      assert.equal((await runner.progress(POISONED)).state, 'failed')
    })

    it('answers 404 for an unknown run and 409 with the current state for a transition that is not allowed', async () => {
      for (const [method, path] of [
        ['GET', '/runs/no_such_run'],
        ['GET', '/runs/no_such_run/failures'],
        ['POST', '/runs/no_such_run/pause'],
        ['POST', '/runs/no_such_run/resume'],
        ['POST', '/runs/no_such_run/cancel'],
        ['POST', '/runs/no_such_run/retry-failures'],
      ]) {
        const res = await api.call(path!, { method })
        assert.equal(res.status, 404, `${method} ${path}`)
        const problem = await problemOf(res)
        assert.match(String(problem.detail), /no_such_run/)
        assert.doesNotMatch(JSON.stringify(problem), /\/tmp|evk-|\.ts\b|select|stack/i, 'no path, SQL or stack')
      }
      const pauseFailed = await api.call(`/runs/${POISONED}/pause`, { method: 'POST' })
      assert.equal(pauseFailed.status, 409)
      const problem = await problemOf(pauseFailed)
      assert.equal(problem.state, 'failed')
      assert.match(String(problem.detail), /failed/)
      assert.equal(problem.code, 'E_BAD_STATE')
      for (const action of ['pause', 'resume', 'cancel', 'retry-failures']) {
        const never = await api.call(`/runs/${NEVER}/${action}`, { method: 'POST' })
        assert.equal(never.status, 409, `${action} of a migration that has not run`)
        const notRun = await problemOf(never)
        assert.deepEqual([notRun.state, notRun.code, notRun.detail], ['pending', 'E_UNKNOWN_RUN', `migration "${NEVER}" has not run yet`])
      }
      assert.equal((await runner.progress(NEVER)).state, 'pending')
    })

    it('pauses, resumes and cancels a live run, recording the token name and reason, and streams the changes and progress ticks', async () => {
      const stream = await openEvents(api)
      gate.closed = true
      const handle = await runner.run([GATED])
      try {
        await waitUntil('the gated run held by its throttle', async () => (await runner.progress(GATED)).throttled === 'test gate')
        await stream.waitFor(
          'a progress tick of the running run',
          (e) => e.event === 'progress' && (e.data as { name: string; state: string }).name === GATED,
        )

        const paused = await api.call(`/runs/${GATED}/pause`, { method: 'POST', json: { reason: 'deploy in progress' } })
        assert.equal(paused.status, 200)
        assert.deepEqual(await paused.json(), { name: GATED, state: 'paused' })
        const change = await stream.waitFor('the pause', (e) => e.event === 'run-state' && (e.data as { to: string }).to === 'paused')
        assert.deepEqual(change.data, { run: GATED, from: 'running', to: 'paused', by: 'ops', reason: 'deploy in progress' })
        const shown = (await (await api.call(`/runs/${GATED}`)).json()) as { state: string; changedBy: string; changeReason: string }
        assert.deepEqual([shown.state, shown.changedBy, shown.changeReason], ['paused', 'ops', 'deploy in progress'])
        assert.equal((await api.call(`/runs/${GATED}/pause`, { method: 'POST' })).status, 200, 'pausing a paused run is harmless')

        const resumed = await api.call(`/runs/${GATED}/resume`, { method: 'POST' })
        assert.deepEqual(await resumed.json(), { name: GATED, state: 'running' })
        const again = await api.call(`/runs/${GATED}/resume`, { method: 'POST' })
        assert.equal(again.status, 409)
        assert.equal((await problemOf(again)).state, 'running')
        const recorded = (await runner.progress(GATED)).changeReason
        assert.match(String(recorded), /resume via the admin API from 127\.0\.0\.1/, 'the default reason says where the change came from')

        const cancelled = await api.call(`/runs/${GATED}/cancel`, { method: 'POST' })
        assert.deepEqual(await cancelled.json(), { name: GATED, state: 'cancelled' })
        await stream.waitFor('the cancel', (e) => e.event === 'run-state' && (e.data as { to: string }).to === 'cancelled')
        const [end] = await handle.done
        assert.equal(end!.state, 'cancelled', 'the runner left the cancelled run')
      } finally {
        gate.closed = false
        handle.stop()
        await handle.done.catch(() => {})
        stream.close()
      }
    })

    it('retry-failures through an API opened on a knex without migrations is a 400 naming them, and queues nothing', async () => {
      const bare = await startApi({ knex: apiDb })
      try {
        const res = await bare.call(`/runs/${POISONED}/retry-failures`, { method: 'POST' })
        assert.equal(res.status, 400)
        assert.match(
          String((await problemOf(res)).detail),
          /opened without migrations: pass them with the knex.*createAdminApi\(\{ knex, migrations \}\)/,
        )
        assert.equal((await db.knex('evolve_batches').where({ run_name: POISONED, phase: 'retry' })).length, 0)
      } finally {
        await bare.close()
      }
    })

    it('errors about the migration files of the server say what is wrong without a file path: an unknown migration, a file that does not load or export one, two files of one name, no directory', async () => {
      const other = migrationSource(`{ table: 'users', set: { dup: (k) => k.raw('dup') } }`)
      const cases: { files: Record<string, string>; code: string; detail: RegExp; path: string }[] = [
        {
          files: { '20260102_other.ts': other },
          code: 'E_UNKNOWN_MIGRATION',
          detail: new RegExp(`^no migration named "${POISONED}" \\(found: 20260102_other\\)$`),
          path: `/runs/${POISONED}/retry-failures`,
        },
        {
          files: { [`${POISONED}.ts`]: 'export default defineMigration({ table: ' },
          code: 'E_LOAD',
          detail: new RegExp(`^migration "${POISONED}" cannot be loaded \\(a syntax error`),
          path: `/runs/${POISONED}/retry-failures`,
        },
        {
          files: { [`${POISONED}.ts`]: 'export default 42' },
          code: 'E_MIGRATION_INVALID',
          detail: new RegExp(`^migration "${POISONED}": the default export must be defineMigration`),
          path: `/runs/${POISONED}/retry-failures`,
        },
        {
          files: { [`${POISONED}.ts`]: other, [`${POISONED}.js`]: other },
          code: 'E_DUPLICATE_MIGRATION',
          detail: new RegExp(`^migration "${POISONED}" is defined by two files \\(${POISONED}.js, ${POISONED}.ts\\); rename one$`),
          path: '/status',
        },
        { files: {}, code: 'E_NO_MIGRATIONS_DIR', detail: /^the migrations directory does not exist$/, path: '/status' },
      ]
      for (const { files, code, detail, path } of cases) {
        const dir = code === 'E_NO_MIGRATIONS_DIR' ? `${await tempDir()}/gone` : await writeFiles(files)
        const served = await startApi({ knex: apiDb, migrations: dir })
        try {
          const res = await served.call(path, { method: path === '/status' ? 'GET' : 'POST' })
          assert.equal(res.status, 400, code)
          const problem = await problemOf(res)
          assert.equal(problem.code, code)
          assert.match(String(problem.detail), detail)
          assert.ok(!JSON.stringify(problem).includes(dir), `${code}: no path in ${JSON.stringify(problem)}`)
          assert.doesNotMatch(String(problem.detail), /[/\\]/, `${code}: no path`)
        } finally {
          await served.close()
        }
      }
      assert.equal((await db.knex('evolve_batches').where({ run_name: POISONED, phase: 'retry' })).length, 0, 'nothing queued')
      assert.equal((await runner.progress(POISONED)).state, 'failed')
    })

    it('retry-failures queues the failed objects for the runners without serving them, and a runner then evolves each once', async () => {
      poison.on = false
      const res = await api.call(`/runs/${POISONED}/retry-failures`, { method: 'POST' })
      assert.equal(res.status, 200)
      assert.deepEqual(await res.json(), { name: POISONED, state: 'running', queued: ROWS / 10 })
      const run = await runner.progress(POISONED)
      assert.equal(run.state, 'running')
      assert.equal(run.changedBy, 'ops')
      const queued = await db.knex('evolve_batches').where({ run_name: POISONED, phase: 'retry' })
      assert.equal(queued.length, 1)
      assert.equal(queued[0].state, 'pending', 'the API process served no batch')

      const [end] = await (await runner.run([POISONED])).done
      assert.equal(end!.state, 'done')
      const counters = await db.knex('users').select('id', 'counter').orderBy('id')
      assert.ok(
        counters.every((r: { counter: number }) => Number(r.counter) === 1),
        'every row evolved exactly once',
      )
      const page = (await (await api.call(`/runs/${POISONED}/failures`)).json()) as { failures: unknown[] }
      assert.deepEqual(page.failures, [])

      const twice = await api.call(`/runs/${POISONED}/retry-failures`, { method: 'POST' })
      assert.equal(twice.status, 409)
      assert.equal((await problemOf(twice)).state, 'done')
      const resumeDone = await api.call(`/runs/${POISONED}/resume`, { method: 'POST' })
      assert.equal(resumeDone.status, 409)
      const problem = await problemOf(resumeDone)
      assert.equal(problem.state, 'done')
      assert.match(String(problem.detail), /done/)
    })
  })
}
