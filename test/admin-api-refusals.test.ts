// How the admin API refuses a request it cannot take, on a real loopback port through global
// fetch (found by a user trial): a wrong method on a real path is 405 with Allow, an unknown
// query parameter is a 400 on every route, a body that is not JSON is 415, and every 4xx
// carries a stable `code`.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Evolve, createMigration, defineMigration, openEvolve } from '../lib/index.ts'
import { type ApiServer, problemOf, startApi } from './helpers/admin-api.ts'
import { dialects, fresh, type FreshDatabase } from './helpers/databases.ts'
import { createItems } from './helpers/tables.ts'

const DONE = '20260101000000_bump'
const RUN = `/runs/${DONE}`

for (const dialect of dialects) {
  describe(`admin API refusals on ${dialect}`, { concurrency: 1 }, () => {
    let db: FreshDatabase
    let evolve: Evolve
    let api: ApiServer
    const readOnly = async () => ((await (await api.call('/read-only')).json()) as { readOnly: boolean }).readOnly

    before(async () => {
      db = await fresh(dialect)
      await createItems(db.knex, 5)
      const bump = createMigration(DONE, defineMigration({ table: 'items', transform: (row) => ({ counter: Number(row.counter) + 1 }) }))
      evolve = await openEvolve({ knex: db.knex, migrations: [bump] })
      await (
        await evolve.run()
      ).done
      api = await startApi(evolve)
    })

    after(async () => {
      await api?.close()
      await evolve?.close()
      await db?.drop()
    })

    it('answers a method the path does not take with 405, an Allow header and a detail naming the methods; unknown paths stay 404', async () => {
      for (const [method, path, allow] of [
        ['DELETE', '/read-only', 'GET, HEAD, PUT'],
        ['POST', '/read-only', 'GET, HEAD, PUT'],
        ['GET', `${RUN}/pause`, 'POST'],
        ['PUT', `${RUN}/retry-failures`, 'POST'],
        ['DELETE', RUN, 'GET, HEAD'],
        ['POST', '/status', 'GET, HEAD'],
        ['PATCH', `/runs/no_such_run/failures?limit=1`, 'GET, HEAD'],
      ] as const) {
        const res = await api.call(path, { method })
        assert.equal(res.status, 405, `${method} ${path}`)
        assert.equal(res.headers.get('allow'), allow)
        const problem = await problemOf(res)
        assert.equal(problem.title, 'Method Not Allowed')
        assert.equal(problem.code, 'E_METHOD_NOT_ALLOWED')
        const methods = allow.replace(/, (\w+)$/, ' or $1')
        assert.equal(problem.detail, `${method} is not a method of this path: use ${methods} (see /openapi.json)`)
      }
      assert.equal((await api.call('/read-only', { method: 'DELETE', token: null })).status, 401, 'the token is asked for first')
      for (const path of ['/nope', '/runs', `${RUN}/pause/now`, '/read-only/']) {
        const res = await api.call(path, { method: 'DELETE' })
        assert.equal(res.status, 404, path)
        assert.equal(res.headers.get('allow'), null)
        assert.deepEqual(await problemOf(res), {
          type: 'about:blank',
          title: 'Not Found',
          status: 404,
          code: 'E_NO_SUCH_ENDPOINT',
          detail: 'no such endpoint: see /openapi.json',
        })
      }
    })

    it('refuses a query parameter a route does not take on every route, naming it and the ones it takes, and changes nothing', async () => {
      for (const [method, path] of [
        ['GET', '/healthz'],
        ['GET', '/status'],
        ['GET', RUN],
        ['POST', `${RUN}/pause`],
        ['POST', `${RUN}/resume`],
        ['POST', `${RUN}/cancel`],
        ['POST', `${RUN}/retry-failures`],
        ['GET', '/read-only'],
        ['PUT', '/read-only'],
        ['GET', '/events'],
        ['GET', '/metrics'],
        ['GET', '/openapi.json'],
      ] as const) {
        const json = method === 'PUT' ? { readOnly: true } : method === 'POST' ? {} : undefined
        const res = await api.call(`${path}?dryRun=1`, { method, json })
        assert.equal(res.status, 400, `${method} ${path}`)
        const problem = await problemOf(res)
        assert.deepEqual([problem.field, problem.code], ['dryRun', 'E_UNKNOWN_PARAMETER'], `${method} ${path}`)
        assert.equal(problem.detail, 'unknown query parameter "dryRun": this endpoint takes none')
      }
      const failures = await problemOf(await api.call(`${RUN}/failures?limit=5&sort=key`))
      assert.equal(failures.detail, 'unknown query parameter "sort": this endpoint takes only limit, after')
      const typo = await problemOf(await api.call(`${RUN}/failures?limt=5`))
      assert.equal(typo.detail, 'unknown query parameter "limt": did you mean "limit"? This endpoint takes only limit, after')
      assert.equal((await api.call(`${RUN}/failures?limit=5`)).status, 200)
      assert.equal(await readOnly(), false, 'the refused PUT switched nothing on')
      assert.equal((await evolve.progress(DONE)).state, 'done')
    })

    it('answers a body that is not JSON with 415 on every route that takes one, text/plain included, changing nothing', async () => {
      for (const [method, path, body, type] of [
        ['PUT', '/read-only', 'readOnly=true', 'text/plain'],
        ['PUT', '/read-only', '{"readOnly":true}', 'text/plain;charset=UTF-8'],
        ['POST', `${RUN}/pause`, '{"reason":"x"}', 'text/plain'],
        ['POST', `${RUN}/cancel`, '<reason/>', 'application/xml'],
        ['POST', `${RUN}/retry-failures`, 'reason=x', 'application/x-www-form-urlencoded'],
      ] as const) {
        const res = await api.call(path, { method, body, headers: { 'content-type': type } })
        assert.equal(res.status, 415, `${method} ${path} as ${type}`)
        const problem = await problemOf(res)
        assert.deepEqual([problem.code, problem.detail], ['E_NOT_JSON', 'send the body as application/json'])
      }
      assert.equal(await readOnly(), false)
      assert.equal((await evolve.progress(DONE)).state, 'done')
    })

    it('gives every 4xx a stable code', async () => {
      const pause = `${RUN}/pause`
      const asJson = { 'content-type': 'application/json' }
      const cases: [string, RequestInit & { json?: unknown; token?: null }, number, string][] = [
        ['/status', { token: null }, 401, 'E_UNAUTHORIZED'],
        [pause, { method: 'POST', body: '{"reason": ', headers: asJson }, 400, 'E_BAD_JSON'],
        [pause, { method: 'POST', body: '', headers: asJson }, 400, 'E_BAD_BODY'],
        [pause, { method: 'POST', json: [1] }, 400, 'E_BAD_BODY'],
        [pause, { method: 'POST', json: { reasn: 'x' } }, 400, 'E_UNKNOWN_FIELD'],
        [pause, { method: 'POST', json: { reason: 5 } }, 400, 'E_BAD_FIELD'],
        ['/read-only', { method: 'PUT', json: { readOnly: false, message: 'x' } }, 400, 'E_BAD_FIELD'],
        ['/read-only', { method: 'PUT', json: { readOnly: true, force: true } }, 400, 'E_BAD_FIELD'],
        ['/read-only', { method: 'PUT', json: { readOnly: true, forSeconds: 0 } }, 400, 'E_READ_ONLY_BAD_FOR'],
        [`${RUN}/failures?limit=abc`, {}, 400, 'E_BAD_PARAMETER'],
        [`${RUN}/failures?after=${'9'.repeat(1001)}`, {}, 400, 'E_BAD_PARAMETER'],
        ['/runs/%E0%A4%A', {}, 400, 'E_BAD_PATH'],
        ['/runs/no_such_run', {}, 404, 'E_NO_SUCH_RUN'],
        ['/no-such-endpoint', {}, 404, 'E_NO_SUCH_ENDPOINT'],
        ['/read-only', { method: 'DELETE' }, 405, 'E_METHOD_NOT_ALLOWED'],
        [pause, { method: 'POST' }, 409, 'E_BAD_STATE'],
        [pause, { method: 'POST', json: { reason: 'x'.repeat(17 * 1024) } }, 413, 'E_BODY_TOO_LARGE'],
        [`/runs/${'x'.repeat(1001)}`, {}, 414, 'E_PATH_TOO_LONG'],
        [pause, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }, 415, 'E_NOT_JSON'],
      ]
      for (const [path, init, status, code] of cases) {
        const res = await api.call(path, init)
        const problem = await problemOf(res)
        assert.deepEqual(
          [res.status, problem.code],
          [status, code],
          `${init.method ?? 'GET'} ${path.slice(0, 60)}: ${JSON.stringify(problem)}`,
        )
        assert.match(String(problem.code), /^E_[A-Z_]+$/)
      }
    })
  })
}
