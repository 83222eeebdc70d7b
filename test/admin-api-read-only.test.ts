// GET/PUT /read-only of the admin API: the read-only switch (evolve.readOnly) over HTTP.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import type { Knex } from 'knex'
import { pino } from 'pino'
import { type Evolve, isReadOnlyError, openEvolve } from '../lib/index.ts'
import { type ApiServer, openEvents, problemOf, startApi } from './helpers/admin-api.ts'
import { dialects, fresh, runnerKnex, type FreshDatabase } from './helpers/databases.ts'
import { createItems, waitUntil } from './helpers/fixtures.ts'

const KEYS = ['by', 'expiresAt', 'message', 'readOnly', 'since', 'tables']

for (const dialect of dialects) {
  describe(`/read-only on ${dialect}`, { concurrency: 1 }, () => {
    let db: FreshDatabase
    let apiDb: Knex
    let evolve: Evolve
    let api: ApiServer
    // The server's log lines (pino JSON), to read its audit entries.
    const lines: Record<string, unknown>[] = []
    const log = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>)
        done()
      },
    })

    before(async () => {
      db = await fresh(dialect)
      await createItems(db.knex, 10)
      apiDb = runnerKnex(db)
      evolve = await openEvolve({ knex: apiDb })
      api = await startApi(evolve, { logger: pino(log) })
    })

    after(async () => {
      await api?.close()
      await apiDb?.destroy()
      await db?.drop()
    })

    it('switches read-only on for an already-open app connection and off again, recording the token name, and streams both changes', async () => {
      const stream = await openEvents(api)
      try {
        const off = (await (await api.call('/read-only')).json()) as Record<string, unknown>
        assert.deepEqual(Object.keys(off).sort(), KEYS)
        assert.equal(off.readOnly, false)
        await db.knex('items').where({ id: 1 }).update({ counter: 1 }) // the app's connection, open before the switch

        const on = await api.call('/read-only', {
          method: 'PUT',
          json: { readOnly: true, message: 'maintenance until 10:00', forSeconds: 600 },
        })
        assert.equal(on.status, 200)
        const state = (await on.json()) as Record<string, unknown>
        assert.equal(state.readOnly, true)
        assert.equal(state.message, 'maintenance until 10:00')
        assert.equal(state.by, 'ops')
        assert.ok(state.expiresAt && Date.parse(String(state.expiresAt)) > Date.now())
        // In force when PUT answers: the app's already-open connection is refused by the database.
        await assert.rejects(db.knex('items').where({ id: 1 }).update({ counter: 2 }), (err: unknown) => isReadOnlyError(err))
        assert.equal(((await (await api.call('/read-only')).json()) as { by: string }).by, 'ops')
        await stream.waitFor('the switch on', (e) => e.event === 'read-only' && (e.data as { readOnly: boolean }).readOnly === true)
        assert.match(await (await api.call('/metrics')).text(), /^evolve_read_only 1$/m)

        const back = await api.call('/read-only', { method: 'PUT', json: { readOnly: false } })
        assert.equal(((await back.json()) as { readOnly: boolean }).readOnly, false)
        await waitUntil('the app write accepted again', () =>
          db
            .knex('items')
            .where({ id: 1 })
            .update({ counter: 3 })
            .then(
              () => true,
              () => false,
            ),
        )
        await stream.waitFor('the switch off', (e) => e.event === 'read-only' && (e.data as { readOnly: boolean }).readOnly === false)
      } finally {
        stream.close()
        await api.call('/read-only', { method: 'PUT', json: { readOnly: false } })
      }
    })

    it('refuses bad PUT bodies with 400 naming the field and changes nothing', async () => {
      for (const [json, field] of [
        [{ readOnly: 'yes' }, 'readOnly'],
        [{}, 'readOnly'],
        [{ readOnly: true, forSeconds: -5 }, 'forSeconds'],
        [{ readOnly: true, tables: 'items' }, 'tables'],
        [{ readOnly: true, until: 'tomorrow' }, 'until'],
        [{ readOnly: false, message: 'bye' }, 'message'],
      ] as const) {
        const res = await api.call('/read-only', { method: 'PUT', json })
        assert.equal(res.status, 400, JSON.stringify(json))
        assert.equal((await problemOf(res)).field, field)
      }
      assert.equal(((await (await api.call('/read-only')).json()) as { readOnly: boolean }).readOnly, false)
    })

    it('takes forSeconds up to 30 days as the CLI’s --for does, and refuses longer with E_READ_ONLY_BAD_FOR, changing nothing', async () => {
      const month = 30 * 24 * 3600
      try {
        const longest = await api.call('/read-only', { method: 'PUT', json: { readOnly: true, tables: ['items'], forSeconds: month } })
        assert.equal(longest.status, 200, await longest.clone().text())
        const state = (await longest.json()) as { readOnly: boolean; expiresAt: string }
        assert.equal(state.readOnly, true)
        assert.ok(Math.abs(Date.parse(state.expiresAt) - (Date.now() + month * 1000)) < 60_000, state.expiresAt)

        for (const json of [
          { readOnly: true, tables: ['items'], forSeconds: month + 1 },
          { readOnly: true, forSeconds: 0 },
        ]) {
          const res = await api.call('/read-only', { method: 'PUT', json })
          assert.equal(res.status, 400, JSON.stringify(json))
          const problem = await problemOf(res)
          assert.equal(problem.field, 'forSeconds')
          assert.equal(problem.code, 'E_READ_ONLY_BAD_FOR')
          assert.equal(problem.detail, 'forSeconds: must be a whole number of seconds from 1 to 2592000 (30 days)')
        }
        assert.deepEqual((await (await api.call('/read-only')).json()) as unknown, { ...state })
      } finally {
        await api.call('/read-only', { method: 'PUT', json: { readOnly: false } })
      }
    })

    it('refuses a banner message over 500 characters with the code and wording the CLI gives, changing nothing', async () => {
      const before = (await (await api.call('/read-only')).json()) as unknown
      const res = await api.call('/read-only', { method: 'PUT', json: { readOnly: true, message: 'x'.repeat(501) } })
      assert.equal(res.status, 400)
      const problem = await problemOf(res)
      assert.equal(problem.code, 'E_READ_ONLY_MESSAGE_TOO_LONG')
      assert.match(String(problem.detail), /501 characters; keep it to 500/)
      assert.deepEqual((await (await api.call('/read-only')).json()) as unknown, before)
    })

    it('names a misspelt field of the PUT body as unknown, with the field it likely meant, and changes nothing', async () => {
      for (const [json, field, detail] of [
        [{ readonly: true }, 'readonly', 'unknown field "readonly" in the body: did you mean "readOnly"?'],
        [{ readOnly: true, mesage: 'x' }, 'mesage', 'unknown field "mesage" in the body: did you mean "message"?'],
        [{ readOnly: false, froce: true }, 'froce', 'unknown field "froce" in the body: did you mean "force"?'],
      ] as const) {
        const res = await api.call('/read-only', { method: 'PUT', json })
        assert.equal(res.status, 400, JSON.stringify(json))
        const problem = await problemOf(res)
        assert.equal(problem.field, field)
        assert.equal(problem.detail, detail)
      }
      assert.equal(((await (await api.call('/read-only')).json()) as { readOnly: boolean }).readOnly, false)
    })

    it('writes the audit entries of read-only changes with from and to as the switch’s state objects, as GET /read-only gives them', async () => {
      const at = lines.length
      const on = await api.call('/read-only', {
        method: 'PUT',
        json: { readOnly: true, message: 'back at noon', tables: ['items'], forSeconds: 60 },
      })
      const stateOn = (await on.json()) as Record<string, unknown>
      const off = await api.call('/read-only', { method: 'PUT', json: { readOnly: false } })
      const stateOff = (await off.json()) as Record<string, unknown>
      const audits = lines.slice(at).flatMap((l) => (l.audit ? [l.audit as Record<string, unknown>] : []))
      assert.deepEqual(
        audits.map((a) => [a.action, a.by]),
        [
          ['read-only on', 'ops'],
          ['read-only off', 'ops'],
        ],
      )
      const [enabled, disabled] = audits as [Record<string, unknown>, Record<string, unknown>]
      assert.deepEqual(enabled.to, stateOn)
      assert.equal(typeof enabled.from, 'object')
      assert.deepEqual(Object.keys(enabled.from as object).sort(), KEYS)
      assert.equal((enabled.from as { readOnly: boolean }).readOnly, false)
      assert.equal(enabled.forSeconds, 60)
      assert.deepEqual(disabled.from, stateOn, 'what was switched off: its message, tables, by and expiry')
      assert.deepEqual(disabled.to, stateOff)
      assert.equal(disabled.force, false)
    })
  })
}
