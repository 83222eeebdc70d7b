// The read-only middleware in real HTTP servers (Express, Fastify, node:http) over a real database.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import express from 'express'
import Fastify from 'fastify'
import type { Knex } from 'knex'
import {
  type Evolve,
  EvolveUsageError,
  type ReadOnlySwitch,
  createMigration,
  createReadOnlySwitch,
  defineMigration,
  openEvolve,
  readOnlyErrorHandler,
  readOnlyFastify,
  readOnlyMiddleware,
  withReadOnly,
} from '../lib/index.ts'
import { adminApiPlugin } from '../lib/http/index.ts'
import { TOKENS, apiClient } from './helpers/admin-api.ts'
import { dialects, fresh, runnerKnex, type FreshDatabase } from './helpers/databases.ts'
import { createItems, waitUntil } from './helpers/fixtures.ts'

/** Routes every server has: GET /items (read + banner), POST /items (write), GET /visit (a GET that writes). */
type Start = (knex: Knex, sw: ReadOnlySwitch) => Promise<{ url: string; close(): Promise<void> }>

let nextId = 1000
const insert = (knex: Knex) => knex('items').insert({ id: nextId++, counter: 0 })
const bump = (knex: Knex) => knex('items').where({ id: 1 }).increment('counter', 1)
const count = async (knex: Knex) => Number((await knex('items').count({ n: '*' }))[0]!.n)

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const servers: Record<string, Start> = {
  express: async (knex, sw) => {
    const app = express()
    app.use(readOnlyMiddleware(sw))
    app.get('/items', async (_req, res) => void res.json({ count: await count(knex), banner: res.locals.readOnly }))
    app.post('/items', async (_req, res) => void (await insert(knex), res.status(201).json({ ok: true })))
    app.get('/visit', async (_req, res) => void (await bump(knex), res.json({ ok: true })))
    app.use(readOnlyErrorHandler(sw))
    const server = http.createServer(app)
    return { url: await listen(server), close: () => new Promise((resolve) => server.close(() => resolve())) }
  },
  fastify: async (knex, sw) => {
    const app = Fastify()
    await app.register(readOnlyFastify(sw))
    app.get('/items', async (request) => ({ count: await count(knex), banner: request.readOnly }))
    app.post('/items', async (_request, reply) => (await insert(knex), reply.code(201).send({ ok: true })))
    app.get('/visit', async () => (await bump(knex), { ok: true }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() }
  },
  'node:http': async (knex, sw) => {
    const server = http.createServer(
      withReadOnly(sw, async (req, res) => {
        const json = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' })
          res.end(JSON.stringify(body))
        }
        if (req.method === 'GET' && req.url === '/items') return json(200, { count: await count(knex), banner: req.readOnly })
        if (req.method === 'POST' && req.url === '/items') return (await insert(knex), json(201, { ok: true }))
        if (req.method === 'GET' && req.url === '/visit') return (await bump(knex), json(200, { ok: true }))
        json(404, {})
      }),
    )
    return { url: await listen(server), close: () => new Promise((resolve) => server.close(() => resolve())) }
  },
}

for (const dialect of dialects) {
  describe(`read-only middleware on ${dialect}`, () => {
    let db: FreshDatabase
    let evolve: Evolve
    before(async () => {
      db = await fresh(dialect)
      await createItems(db.knex, 3)
      evolve = await openEvolve({ knex: db.knex, by: 'test' })
    })
    after(() => db.drop())

    for (const [framework, start] of Object.entries(servers)) {
      it(`answers writes 503 with the message and Retry-After in ${framework} while on, lets them through when off, and serves reads with the banner throughout`, async () => {
        const sw = createReadOnlySwitch(db.knex)
        await sw.ready
        const server = await start(db.knex, sw)
        try {
          assert.equal((await fetch(`${server.url}/items`, { method: 'POST' })).status, 201)
          const changed = new Promise((resolve) => sw.once('change', resolve))
          await evolve.readOnly.enable({ message: 'Upgrading, back soon', tables: ['items'], for: '10m' })
          await changed
          const refused = await fetch(`${server.url}/items`, { method: 'POST' })
          assert.equal(refused.status, 503)
          assert.match(String(refused.headers.get('content-type')), /^application\/problem\+json/)
          const retryAfter = Number(refused.headers.get('retry-after'))
          assert.ok(retryAfter > 500 && retryAfter <= 600, `Retry-After ${retryAfter}`)
          const problem = await refused.json()
          assert.equal(problem.status, 503)
          assert.equal(problem.detail, 'Upgrading, back soon')
          const html = await fetch(`${server.url}/items`, { method: 'POST', headers: { accept: 'text/html' } })
          assert.equal(html.status, 503)
          assert.match(await html.text(), /<p>Upgrading, back soon<\/p>/)
          const read = await fetch(`${server.url}/items`)
          assert.equal(read.status, 200)
          const body = await read.json()
          assert.equal(body.banner.readOnly, true)
          assert.equal(body.banner.message, 'Upgrading, back soon')
          // A GET that writes is refused by the database mid-request: the same 503.
          const visit = await fetch(`${server.url}/visit`)
          assert.equal(visit.status, 503)
          assert.equal((await visit.json()).detail, 'Upgrading, back soon')
          const off = new Promise((resolve) => sw.once('change', resolve))
          await evolve.readOnly.disable()
          await off
          assert.equal((await fetch(`${server.url}/items`, { method: 'POST' })).status, 201)
          assert.equal((await fetch(`${server.url}/visit`)).status, 200)
          const after = await (await fetch(`${server.url}/items`)).json()
          assert.equal(after.banner.readOnly, false)
        } finally {
          await evolve.readOnly.disable()
          await server.close()
          await sw.close()
        }
      })

      it(`answers with the operator's message in ${framework} when the database refuses a write before the switch saw read-only go on`, async () => {
        // A switch that will not poll during the test: only the database knows read-only is on (on
        // PostgreSQL its notification may still arrive first: then the switch's own state is told).
        const sw = createReadOnlySwitch(db.knex, { pollMs: 600_000 })
        await sw.ready
        const server = await start(db.knex, sw)
        try {
          const on = await evolve.readOnly.enable({ message: 'Back at noon', tables: ['items'], for: '1h' })
          const visit = await fetch(`${server.url}/visit`) // a GET that writes
          assert.equal(visit.status, 503)
          const problem = await visit.json()
          assert.equal(problem.detail, 'Back at noon')
          // The switch looked before answering: the 503 tells when it began and ends, as a polled one does.
          assert.deepEqual([problem.since, problem.expiresAt], [on.since, on.expiresAt])
          assert.ok(Number(visit.headers.get('retry-after')) > 3000, 'Retry-After counts down to the expiry')
          // The refusal made the switch look again: it knows now.
          await waitUntil('the switch on', async () => sw.isReadOnly('items'))
        } finally {
          await evolve.readOnly.disable()
          await server.close()
          await sw.close()
        }
      })
    }

    it("never refuses the embedded admin API in a Fastify app with readOnlyFastify: operators turn read-only off and pause a run while the app's writes get 503", async () => {
      const NAME = '20260101000000_bump-items'
      const bumpItems = createMigration(
        NAME,
        defineMigration({ table: 'items', batchSize: 1, transform: (row) => ({ counter: Number(row.counter) + 1 }) }),
      )
      // The runner's throttle holds the run before its first batch, so it is running when the API pauses it.
      const runnerDb = runnerKnex(db)
      const runner = await openEvolve({
        knex: runnerDb,
        migrations: [bumpItems],
        run: { throttle: () => ({ reason: 'test gate', ms: 20 }) },
      })
      const admin = await openEvolve({ knex: db.knex, migrations: [bumpItems] })
      const sw = createReadOnlySwitch(db.knex)
      await sw.ready
      const app = Fastify()
      await app.register(readOnlyFastify(sw))
      await app.register(adminApiPlugin, { prefix: '/evolve', evolve: admin, tokens: TOKENS })
      app.post('/items', async (_request, reply) => (await insert(db.knex), reply.code(201).send({ ok: true })))
      await app.listen({ port: 0, host: '127.0.0.1' })
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
      const api = apiClient(`${url}/evolve`)
      const handle = await runner.run([NAME])
      try {
        await waitUntil('the run held by its throttle', async () => (await runner.progress(NAME)).throttled === 'test gate')
        const on = await api.call('/read-only', { method: 'PUT', json: { readOnly: true, message: 'Maintenance', tables: ['items'] } })
        assert.equal(on.status, 200, await on.clone().text())
        await sw.refresh()
        assert.equal(sw.isReadOnly('items'), true)
        assert.equal((await fetch(`${url}/items`, { method: 'POST' })).status, 503, "the app's write is refused")

        const typo = await api.call('/read-onyl', { method: 'PUT', json: { readOnly: false } })
        assert.equal(typo.status, 404, "a path that is no route gets the admin API's 404, not the 503")
        assert.match(String((await typo.json()).detail), /no such endpoint/)
        const noToken = await api.call('/read-only', { method: 'PUT', token: null, json: { readOnly: false } })
        assert.equal(noToken.status, 401, 'the admin API still asks for its token (not the read-only 503)')
        const paused = await api.call(`/runs/${NAME}/pause`, { method: 'POST', json: { reason: 'maintenance' } })
        assert.equal(paused.status, 200, await paused.clone().text())
        assert.deepEqual(await paused.json(), { name: NAME, state: 'paused' })
        const off = await api.call('/read-only', { method: 'PUT', json: { readOnly: false } })
        assert.equal(off.status, 200, await off.clone().text())
        assert.equal(((await off.json()) as { readOnly: boolean }).readOnly, false)
        await sw.refresh()
        assert.equal((await fetch(`${url}/items`, { method: 'POST' })).status, 201, "the app's writes work again")
      } finally {
        handle.stop()
        await handle.done.catch(() => {})
        await evolve.readOnly.disable({ force: true })
        await app.close()
        await sw.close()
        await admin.close()
        await runner.close()
        await runnerDb.destroy()
      }
    })

    it('turns itself off in the app when its --for runs out, with nothing else looking', async () => {
      const sw = createReadOnlySwitch(db.knex)
      await sw.ready
      try {
        await evolve.readOnly.enable({ tables: ['items'], for: '2s' })
        await waitUntil('the switch on', async () => sw.isReadOnly('items'))
        await waitUntil('the switch off by expiry', async () => !sw.isReadOnly(), { timeoutMs: 10_000 })
        await insert(db.knex)
      } finally {
        await sw.close()
      }
    })
  })
}

describe('read-only switch and middleware arguments', () => {
  let db: FreshDatabase
  let evolve: Evolve
  before(async () => {
    db = await fresh('sqlite')
    evolve = await openEvolve({ knex: db.knex, by: 'test' })
  })
  after(async () => {
    await evolve.close()
    await db.drop()
  })

  /** Throws at once: one line, E_CONFIG, matching `message`. */
  const refused = (make: () => unknown, message: RegExp) =>
    assert.throws(make, (err: unknown) => {
      assert.ok(err instanceof EvolveUsageError, String(err))
      assert.equal(err.code, 'E_CONFIG')
      assert.match(err.message, message)
      assert.doesNotMatch(err.message, /\n/)
      return true
    })

  it('createReadOnlySwitch refuses, when it is created, a pollMs that is not a whole number of milliseconds of at least 10, an unknown option with the one it likely meant, and anything but a knex instance', async () => {
    for (const pollMs of ['1s', 0, -5, 1.5, 9, Number.NaN]) {
      refused(
        () => createReadOnlySwitch(db.knex, { pollMs } as never),
        /^createReadOnlySwitch: option "pollMs" must be a whole number of milliseconds, at least 10, e\.g\. 500 \(found .+\)$/,
      )
    }
    refused(
      () => createReadOnlySwitch(db.knex, { polMs: 100 } as never),
      /unknown option "polMs": did you mean "pollMs"\? \(allowed: pollMs\)/,
    )
    refused(() => createReadOnlySwitch(db.knex, 500 as never), /options must be an object .*\(found 500\)/)
    refused(() => createReadOnlySwitch(evolve as never), /needs a knex instance, not the admin object: pass evolve\.knex/)
    refused(() => createReadOnlySwitch(undefined as never), /needs your app's knex instance as its first argument.*\(found undefined\)/)
    const fastest = createReadOnlySwitch(db.knex, { pollMs: 10 })
    await fastest.ready
    await fastest.close()
  })

  it('readOnlyMiddleware, readOnlyFastify, readOnlyErrorHandler and withReadOnly refuse bad arguments when they are created, naming the option and what it takes', async () => {
    const sw = createReadOnlySwitch(db.knex)
    await sw.ready
    try {
      const makers = {
        readOnlyMiddleware: (s: unknown, o?: unknown) => readOnlyMiddleware(s as never, o as never),
        readOnlyFastify: (s: unknown, o?: unknown) => readOnlyFastify(s as never, o as never),
        readOnlyErrorHandler: (s: unknown, o?: unknown) => readOnlyErrorHandler(s as never, o as never),
        withReadOnly: (s: unknown, o?: unknown) => withReadOnly(s as never, () => {}, o as never),
      }
      for (const [fn, make] of Object.entries(makers)) {
        for (const retryAfterSeconds of [-5, 'soon', 1.5, 0]) {
          refused(
            () => make(sw, { retryAfterSeconds }),
            new RegExp(`^${fn}: option "retryAfterSeconds" must be a whole number of seconds, at least 1, e\\.g\\. 120 \\(found .+\\)$`),
          )
        }
        refused(
          () => make(sw, { tabel: 'orders' }),
          /unknown option "tabel": did you mean "table"\? \(allowed: table, isWrite, retryAfterSeconds\)/,
        )
        refused(() => make(sw, { table: '' }), /option "table" must be a table name, e\.g\. 'orders' \(found ""\)/)
        refused(() => make(sw, { isWrite: true }), /option "isWrite" must be a function \(req\) => boolean/)
        refused(
          () => make(db.knex),
          new RegExp(`^${fn} needs the switch: ${fn}\\(createReadOnlySwitch\\(knex\\)\\).*\\(found a knex instance\\)$`),
        )
        refused(() => make(evolve), /needs the switch.*\(found the admin object from openEvolve\)/)
        refused(() => make(undefined), /needs the switch.*\(found undefined\)/)
        make(sw, { table: 'orders', retryAfterSeconds: 120, isWrite: () => false })
      }
      refused(() => withReadOnly(sw, undefined as never), /withReadOnly\(sw, handler\): the handler must be a function/)
    } finally {
      await sw.close()
    }
  })
})
