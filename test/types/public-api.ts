// What a TypeScript user of 'evolvekit' may write, and what tsc must refuse: test/public-types.test.ts
// compiles this file as a consumer would. Each `@ts-expect-error` line is a mistake the types catch
// (the line must not compile); every other line must compile. Never run: only type-checked.
import express from 'express'
import Fastify from 'fastify'
import type { Knex } from 'knex'
import {
  type EvolveConfig,
  type RunProgress,
  type RunStatus,
  createMigration,
  createReadOnlySwitch,
  defineConfig,
  defineMigration,
  openEvolve,
  readOnlyErrorHandler,
  readOnlyFastify,
  readOnlyMiddleware,
  withReadOnly,
} from 'evolvekit'

declare const knex: Knex

interface User {
  id: number
  email: string
  name: string | null
  profile: string
}

// ── defineMigration without a row type: as loose as ever ──
const someColumns: string[] = ['email', 'name']
export const untyped = [
  defineMigration({ table: 'users', columns: someColumns, key: someColumns, transform: (row) => ({ name: row.name ?? row.email }) }),
  defineMigration({ table: 'users', set: { anything: (k) => k.raw('1') } }),
  defineMigration({ table: 'users', columns: ['whatever'], transform: (row) => ({ email: String(row.email).toLowerCase() }) }),
  defineMigration({ table: 'users', key: ['tenant', 'id'], up: (rows) => void rows.map((r) => r.tenant + r.anything) }),
  defineMigration({ table: 'users', transform: (row: { id: number; email: string }) => ({ email: row.email.toLowerCase() }) }),
]

// ── defineMigration<Row>: `set`, `columns` and `key` name the row's columns ──
const typedColumns = ['email', 'name'] as const
export const typed = [
  defineMigration<User>({ table: 'users', set: { email: (k) => k.raw('lower(email)') } }),
  // @ts-expect-error: `emial` is not a column of User
  defineMigration<User>({ table: 'users', set: { emial: (k) => k.raw('lower(email)') } }),
  defineMigration<User>({ table: 'users', columns: ['email'], transform: (row) => ({ email: row.email.toLowerCase() }) }),
  // @ts-expect-error: `emial` is not a column of User
  defineMigration<User>({ table: 'users', columns: ['emial'], transform: (row) => ({ email: row.email }) }),
  // @ts-expect-error: a transform returns columns of the row only
  defineMigration<User>({ table: 'users', transform: () => ({ emial: 'x' }) }),
  defineMigration<User>({ table: 'users', key: ['email', 'id'], up: (rows) => void rows.map((r) => r.email) }),
  defineMigration<User>({ table: 'users', columns: typedColumns, transform: (row) => ({ name: row.name ?? row.email }) }),
  // @ts-expect-error: a string[] may name anything: with a row type, name the columns (inline, or `as const`)
  defineMigration<User>({ table: 'users', columns: someColumns, transform: () => null }),
  // @ts-expect-error: the key is a column of User too
  defineMigration<User>({ table: 'users', key: 'uid', set: { email: (k) => k.raw('lower(email)') } }),
]

// ── defineMigration<Row>(): the row `transform` and `up` receive holds the key and the declared `columns` ──
export const narrowed = [
  defineMigration<User>()({ table: 'users', columns: ['email'], transform: (row) => ({ email: `${row.id}:${row.email}` }) }),
  // @ts-expect-error: `profile` is not among the columns read, so it is not on the row
  defineMigration<User>()({ table: 'users', columns: ['email'], transform: (row) => ({ email: row.profile }) }),
  defineMigration<User>()({ table: 'users', columns: ['email'], transform: (row) => ({ profile: row.email }) }),
  defineMigration<User>()({ table: 'users', key: 'email', columns: ['name'], up: (rows) => void rows.map((r) => r.email + r.name) }),
  // @ts-expect-error: with key `email`, `id` is not read
  defineMigration<User>()({ table: 'users', key: 'email', columns: ['name'], up: (rows) => void rows.map((r) => r.id) }),
  // No `columns`: every column is read.
  defineMigration<User>()({ table: 'users', transform: (row) => ({ profile: row.profile.trim() }) }),
  // @ts-expect-error: `emial` is not a column of User
  defineMigration<User>()({ table: 'users', columns: ['emial'], transform: () => null }),
  // @ts-expect-error: `emial` is not a column of User
  defineMigration<User>()({ table: 'users', set: { emial: (k) => k.raw('1') } }),
]
export const built = createMigration('lowercase', defineMigration<User>({ table: 'users', set: { email: (k) => k.raw('lower(email)') } }))
export const builtNarrowed = createMigration(
  'trim',
  defineMigration<User>()({ table: 'users', columns: ['profile'], transform: (r) => ({ profile: r.profile.trim() }) }),
)

// ── defineConfig: `client` is one evolvekit supports ──
export const configs: EvolveConfig[] = [
  defineConfig({ client: 'pg', connection: 'postgres://localhost/app' }),
  defineConfig({ client: 'postgres' }),
  defineConfig({ client: 'postgresql' }),
  defineConfig({ client: 'better-sqlite3', connection: { filename: './app.db' } }),
  defineConfig({ migrations: { directory: './migrations' } }),
  // @ts-expect-error: knex's `sqlite3` driver is not supported (better-sqlite3 is)
  defineConfig({ client: 'sqlite3' }),
  // @ts-expect-error: not a supported database
  defineConfig({ client: 'mysql' }),
]

// ── events: known names only, each listener gets its payload ──
const evolve = await openEvolve({ db: 'sqlite:./app.db' })
evolve.events.on('run:end', (e) => console.log(e.run, e.state.toUpperCase(), e.done + e.failed))
evolve.events.once('batch:done', (e) => console.log(e.rows.toFixed(0)))
evolve.events.on('progress', (p: RunProgress) => console.log(p.name))
const statuses: RunStatus[] = await evolve.status()
console.log(statuses.map((s) => s.fileError?.toUpperCase() ?? s.stateText))
evolve.events.on('read-only', (s) => console.log(s.readOnly))
// @ts-expect-error: there is no event `run:ended` (it is `run:end`)
evolve.events.on('run:ended', () => {})
// @ts-expect-error: the payload of `run:end` has no `rows`
evolve.events.on('run:end', (e) => console.log(e.rows))
// @ts-expect-error: there is no event `batch:finished`
evolve.events.off('batch:finished', () => {})
// @ts-expect-error: there is no event `run:ended`
export const listening = evolve.events.listenerCount('run:ended')
const sw = createReadOnlySwitch(knex)
sw.on('change', (state) => console.log(state.readOnly, state.message))
// @ts-expect-error: the switch's event is `change`
sw.on('changed', () => {})

// ── the middleware: `isWrite` receives the framework's own request ──
const app = express()
app.use(readOnlyMiddleware(sw, { isWrite: (req) => req.path.startsWith('/api') || req.method !== 'GET' }))
app.use(readOnlyMiddleware<express.Request>(sw, { isWrite: (req) => req.path.startsWith('/api'), table: 'orders' }))
app.use(readOnlyMiddleware(sw))
// One options object for both: the error handler answers with the same table and Retry-After.
const apiWrites = { isWrite: (req: express.Request) => req.originalUrl.startsWith('/api'), table: 'orders' }
app.use(readOnlyMiddleware(sw, apiWrites))
app.use(readOnlyErrorHandler(sw, apiWrites))
app.use(readOnlyErrorHandler(sw))
// @ts-expect-error: `isWrite` returns a boolean
app.use(readOnlyMiddleware(sw, { isWrite: (req) => req.path }))
const fastify = Fastify()
await fastify.register(readOnlyFastify(sw, { isWrite: (req) => req.method === 'POST' && !!req.url?.startsWith('/api') }))
export const handler = withReadOnly(sw, (req, res) => res.end(req.readOnly.readOnly ? 'banner' : 'ok'), {
  isWrite: (req) => req.method !== 'GET',
})
await evolve.close()
