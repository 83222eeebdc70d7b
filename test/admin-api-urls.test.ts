// The admin API in an app's own Fastify server built as docs/admin-api.md says (routerOptions'
// maxParamLength, frameworkErrors), on a real loopback port through global fetch: a run whose name is longer
// than Fastify's default of 100 characters is reachable, and the router's own refusals (a
// malformed %-escape, a path segment over the limit) are problem+json like every other error.
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { type Evolve, createMigration, defineMigration, openEvolve } from '../lib/index.ts'
import { MAX_PARAM_LENGTH, adminApiPlugin, frameworkErrors } from '../lib/http/index.ts'
import { TOKEN, TOKENS, apiClient, problemOf, startApi } from './helpers/admin-api.ts'
import { freshSqlite, type FreshSqlite } from './helpers/databases.ts'
import { createItems } from './helpers/tables.ts'

// 215 characters: the longest name `evolve create` makes (its stamp, _, 200 characters).
const LONG = `20260101000000_${'backfill-'.repeat(22)}${'x'.repeat(2)}`

describe('the admin API in an app built with maxParamLength and frameworkErrors', () => {
  let db: FreshSqlite
  let evolve: Evolve
  let app: FastifyInstance
  let api: ReturnType<typeof apiClient>

  before(async () => {
    assert.equal(LONG.length, 215)
    db = await freshSqlite()
    await createItems(db.knex, 20)
    const migration = createMigration(LONG, defineMigration({ table: 'items', transform: (row) => ({ counter: Number(row.counter) + 1 }) }))
    evolve = await openEvolve({ knex: db.knex, migrations: [migration] })
    await (
      await evolve.run()
    ).done
    app = Fastify({ routerOptions: { maxParamLength: MAX_PARAM_LENGTH }, frameworkErrors })
    // The app parses forms for its own routes: the admin API still takes JSON only.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    )
    await app.register(adminApiPlugin, { prefix: '/evolve', evolve, tokens: TOKENS })
    await app.listen({ host: '127.0.0.1', port: 0 })
    api = apiClient(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/evolve`, TOKEN)
  })

  after(async () => {
    await app?.close()
    await evolve?.close()
    await db?.drop()
  })

  it('reaches a run with the longest name evolve create makes (215 characters), to read it and to be told it cannot pause', async () => {
    const run = await api.call(`/runs/${LONG}`)
    assert.equal(run.status, 200, await run.clone().text())
    assert.deepEqual(((await run.json()) as { name: string; state: string }).state, 'done')
    const pause = await api.call(`/runs/${LONG}/pause`, { method: 'POST' })
    assert.equal(pause.status, 409)
    assert.equal((await problemOf(pause)).state, 'done')
  })

  it('answers a path segment longer than maxParamLength with a 414 problem saying the limit and the fix', async () => {
    const res = await api.call(`/runs/${'x'.repeat(MAX_PARAM_LENGTH + 1)}`, { token: null })
    assert.equal(res.status, 414)
    const problem = await problemOf(res)
    assert.equal(problem.title, 'URI Too Long')
    assert.match(String(problem.detail), new RegExp(`longer than ${MAX_PARAM_LENGTH} characters .*needs a larger maxParamLength`))
    assert.ok(!JSON.stringify(problem).includes('FST_'), 'no Fastify code')
  })

  it('answers a malformed %-escape in the path with a 400 problem telling to encode the name', async () => {
    const res = await api.call('/runs/%E0%A4%A', { token: null })
    assert.equal(res.status, 400)
    const problem = await problemOf(res)
    assert.match(String(problem.detail), /malformed %-escape: encode the migration name with encodeURIComponent/)
    assert.ok(!JSON.stringify(problem).includes('FST_'), 'no Fastify code')
  })

  it('under its prefix answers a wrong method 405 with Allow, an unknown path 404, and a form body 415 though the app parses forms', async () => {
    const wrong = await api.call('/read-only', { method: 'DELETE' })
    assert.equal(wrong.status, 405)
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD, PUT')
    assert.equal((await problemOf(wrong)).code, 'E_METHOD_NOT_ALLOWED')
    const pauseByGet = await api.call(`/runs/${LONG}/pause`)
    assert.deepEqual([pauseByGet.status, pauseByGet.headers.get('allow')], [405, 'POST'])
    const unknown = await api.call('/read-onyl', { method: 'DELETE' })
    assert.equal(unknown.status, 404)
    assert.equal((await problemOf(unknown)).code, 'E_NO_SUCH_ENDPOINT')
    const form = await api.call(`/runs/${LONG}/pause`, {
      method: 'POST',
      body: 'reason=deploy',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    assert.equal(form.status, 415)
    assert.equal((await problemOf(form)).code, 'E_NOT_JSON')
  })

  it('createAdminApi (and so `evolve serve`) starts without a Fastify deprecation warning', async () => {
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    try {
      const served = await startApi(evolve)
      const res = await served.call(`/runs/${'x'.repeat(MAX_PARAM_LENGTH + 1)}`)
      assert.match(String((await problemOf(res)).detail), new RegExp(`longer than ${MAX_PARAM_LENGTH} characters`))
      await served.close()
      await new Promise((resolve) => setImmediate(resolve)) // process.emitWarning emits on the next tick
    } finally {
      process.off('warning', onWarning)
    }
    assert.deepEqual(
      warnings.map((w) => `${w.name}: ${w.message}`),
      [],
    )
  })
})
