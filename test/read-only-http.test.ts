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
  type ReadOnlySwitch,
  createReadOnlySwitch,
  openEvolve,
  readOnlyErrorHandler,
  readOnlyFastify,
  readOnlyMiddleware,
  withReadOnly,
} from '../lib/index.ts'
import { dialects, fresh, type FreshDatabase } from './helpers/databases.ts'
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
    }

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
