// Read-only mode enforced by the database: app connections opened before the toggle are refused
// at once, reads go on, nothing is lost silently, `--for` runs out by itself, bad input changes nothing.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import Database from 'better-sqlite3'
import knex from 'knex'
import { openEvolve } from '../lib/index.ts'
import { isReadOnlyError } from '../lib/index.ts'
import { withWriteBypass } from '../lib/core/read-only.ts'
import { assertRefused, runCli } from './helpers/cli.ts'
import { dialects, fresh, type FreshDatabase } from './helpers/databases.ts'
import { createItems, trackingTables, waitUntil } from './helpers/fixtures.ts'

/** An app's writes and reads on connections that were all open before read-only was turned on. */
interface AppConnections {
  write(id: number): Promise<void>
  count(): Promise<number>
  close(): Promise<void>
}

async function appConnections(db: FreshDatabase, n = 4): Promise<AppConnections[]> {
  if (db.dialect === 'sqlite') {
    return Array.from({ length: n }, () => {
      const conn = new Database(db.file)
      conn.pragma('busy_timeout = 5000')
      const insert = conn.prepare('INSERT INTO items (id, counter) VALUES (?, 0)')
      const count = conn.prepare('SELECT count(*) AS n FROM items')
      count.get() // prepared and used before the toggle: the schema change must reach it anyway
      return {
        write: async (id) => void insert.run(id),
        count: async () => Number((count.get() as { n: number }).n),
        close: async () => void conn.close(),
      }
    })
  }
  const pool = knex({ client: 'pg', connection: db.url, pool: { min: n, max: n } })
  // Hold all n connections at once so the pool really has n open sessions before the toggle.
  const conns = await Promise.all(Array.from({ length: n }, () => pool.client.acquireConnection()))
  for (const c of conns) pool.client.releaseConnection(c)
  return Array.from({ length: n }, (_, i) => ({
    write: async (id) => void (await pool('items').insert({ id, counter: 0 })),
    count: async () => Number((await pool('items').count({ n: '*' }))[0]!.n),
    close: async () => (i === 0 ? pool.destroy() : undefined),
  }))
}

async function refusal(write: () => Promise<void>): Promise<unknown> {
  try {
    await write()
  } catch (err) {
    return err
  }
  return undefined
}

for (const dialect of dialects) {
  describe(`read-only mode on ${dialect}`, () => {
    it('refuses writes of app connections opened before it was turned on, with the message, keeps reads working, and lets the same connections write after off', async () => {
      const db = await fresh(dialect)
      const evolve = await openEvolve({ knex: db.knex, by: 'test' })
      try {
        await createItems(db.knex, 10)
        const app = await appConnections(db)
        await evolve.readOnly.enable({ message: 'Back at 14:00' })
        for (const [i, conn] of app.entries()) {
          const err = await waitUntil('a refused write', async () => refusal(() => conn.write(100 + i)), { timeoutMs: 1000, everyMs: 20 })
          assert.ok(isReadOnlyError(err), `not a read-only refusal: ${String(err)}`)
          assert.match(String((err as Error).message), /Back at 14:00/)
          if (dialect === 'postgres') assert.equal((err as { code: string }).code, '25006')
          else assert.equal((err as { code: string }).code, 'SQLITE_CONSTRAINT_TRIGGER')
          assert.equal(await conn.count(), 10)
        }
        assert.deepEqual(await evolve.readOnly.status(), {
          ...(await evolve.readOnly.status()),
          readOnly: true,
          message: 'Back at 14:00',
          tables: null,
          by: 'test',
        })
        await evolve.readOnly.disable()
        for (const [i, conn] of app.entries()) await conn.write(200 + i)
        assert.equal(await app[0]!.count(), 14)
        for (const conn of app) await conn.close()
      } finally {
        await db.drop()
      }
    })

    it('refuses UPDATE, DELETE (and TRUNCATE on PostgreSQL) too, while a bypass transaction still writes and the app is refused meanwhile', async () => {
      const db = await fresh(dialect)
      const evolve = await openEvolve({ knex: db.knex, by: 'test' })
      try {
        await createItems(db.knex, 5)
        await evolve.readOnly.enable({ message: 'maintenance', tables: ['items'] })
        const writes = [
          () => db.knex('items').where({ id: 1 }).update({ counter: 9 }),
          () => db.knex('items').where({ id: 2 }).delete(),
          ...(dialect === 'postgres' ? [() => db.knex.raw('TRUNCATE items')] : []),
        ]
        for (const write of writes) assert.ok(isReadOnlyError(await refusal(async () => void (await write()))))
        // The runner's way through: inside it, the write lands; outside it, the same write is refused.
        await withWriteBypass(db.knex, async (trx) => void (await trx('items').where({ id: 3 }).update({ counter: 7 })))
        assert.equal(Number((await db.knex('items').where({ id: 3 }).first()).counter), 7)
        assert.ok(isReadOnlyError(await refusal(async () => void (await db.knex('items').where({ id: 3 }).update({ counter: 8 })))))
        assert.equal(Number((await db.knex('items').count({ n: '*' }))[0]!.n), 5, 'nothing deleted or truncated')
        await evolve.readOnly.disable()
        await db.knex('items').where({ id: 1 }).update({ counter: 9 })
      } finally {
        await db.drop()
      }
    })

    it('loses no write silently: a writer looping through on and off either got an error or its row is in the table', async () => {
      const db = await fresh(dialect)
      const evolve = await openEvolve({ knex: db.knex, by: 'test' })
      try {
        await createItems(db.knex, 1)
        const [app] = await appConnections(db, 1)
        const acknowledged: number[] = []
        let refused = 0
        let stop = false
        const writer = (async () => {
          for (let id = 1000; !stop; id++) {
            const err = await refusal(() => app!.write(id))
            if (err === undefined) acknowledged.push(id)
            else if (isReadOnlyError(err)) refused++
            else throw err
            await new Promise((resolve) => setImmediate(resolve))
          }
        })()
        await waitUntil('some writes before', async () => acknowledged.length > 5)
        await evolve.readOnly.enable({ message: 'loop' })
        await waitUntil('refused writes', async () => refused > 5)
        await evolve.readOnly.disable()
        const before = acknowledged.length
        await waitUntil('writes again', async () => acknowledged.length > before + 5)
        stop = true
        await writer
        const stored = (await db.knex('items').where('id', '>=', 1000).pluck('id')).map(Number).sort((a, b) => a - b)
        assert.deepEqual(stored, acknowledged)
        await app!.close()
      } finally {
        await db.drop()
      }
    })

    it('turns itself off when its --for runs out, with no operator acting', async () => {
      const db = await fresh(dialect)
      const evolve = await openEvolve({ knex: db.knex, by: 'test' })
      try {
        await createItems(db.knex, 1)
        const state = await evolve.readOnly.enable({ for: '2s', tables: ['items'] })
        assert.ok(state.expiresAt)
        const stopWatching = evolve.watch({ intervalMs: 200 })
        const off = new Promise((resolve) => evolve.events.on('read-only', (s) => !s.readOnly && resolve(s)))
        await off
        stopWatching()
        await db.knex('items').insert({ id: 2, counter: 0 })
        const audit = await db.knex('evolve_read_only_audit').orderBy('id')
        assert.deepEqual(
          audit.map((a) => a.action),
          ['on', 'expired'],
        )
      } finally {
        await db.drop()
      }
    })

    it('rejects bad input with one line and exit 2, changing nothing; off while off is harmless', async () => {
      const db = await fresh(dialect)
      try {
        await createItems(db.knex, 1)
        await db.knex.schema.createTable('orders', (t) => t.integer('id').primary())
        const cli = (...args: string[]) => runCli(['--db', db.url, 'readonly', ...args])
        const bad = [
          [['on', '--tables', 'nope'], /table "nope" does not exist/],
          [['on', '--for', 'soon'], /--for takes a duration/],
          [['on', '--message', 'x'.repeat(501)], /501 characters; keep it to 500/],
        ] as const
        for (const [args, message] of bad) {
          const result = await cli(...args)
          assert.equal(result.code, 2, result.stderr)
          assert.match(result.stderr, message)
          assert.equal(result.stderr.trim().split('\n').length, 1)
        }
        assert.equal((await cli('status', '--json')).stdout.includes('"readOnly": false'), true)
        assert.equal((await cli('on', '--tables', 'items', '--message', 'items only')).code, 0)
        const conflict = await cli('on', '--tables', 'orders')
        assert.equal(conflict.code, 2)
        assert.match(conflict.stderr, /already on for items .*evolve readonly on --tables items,orders/)
        await db.knex('orders').insert({ id: 1 }) // orders was not guarded by the refused command
        const status = JSON.parse((await cli('status', '--json')).stdout)
        assert.deepEqual(status.tables, ['items'])
        assert.equal(status.message, 'items only')
        assert.equal((await cli('on', '--tables', 'items,orders')).code, 0)
        await assert.rejects(db.knex('orders').insert({ id: 2 }), (err) => isReadOnlyError(err))
        // On for every table: asking for fewer would make some writable again, so it is refused.
        assert.equal((await cli('on', '--message', 'all of it')).code, 0)
        const narrower = await cli('on', '--tables', 'items', '--message', 'items again')
        assert.equal(narrower.code, 2)
        assert.match(narrower.stderr, /already on for every table .*turn it off first .*evolve readonly on --tables items/)
        assert.equal(narrower.stderr.trim().split('\n').length, 1)
        const whole = JSON.parse((await cli('status', '--json')).stdout)
        assert.equal(whole.tables, null)
        assert.equal(whole.message, 'all of it')
        assert.equal((await cli('off')).code, 0)
        const again = await cli('off')
        assert.equal(again.code, 0)
        assert.match(again.stdout, /read-only: off/)
        await db.knex('orders').insert({ id: 2 })
        assert.deepEqual(
          (await db.knex('evolve_read_only_audit').orderBy('id')).map((a) => a.action),
          ['on', 'on', 'on', 'off'],
        )
      } finally {
        await db.drop()
      }
    })

    it('refuses unknown or mistyped options of readOnly.enable and disable with one usage error naming the option, changing nothing', async () => {
      const db = await fresh(dialect)
      const evolve = await openEvolve({ knex: db.knex, by: 'test' })
      try {
        await createItems(db.knex, 1)
        // [options, code, message]: while off, each refused before the tracking tables exist.
        const enables: [unknown, string, RegExp][] = [
          [
            { mesage: 'x' },
            'E_CONFIG',
            /^unknown read-only option "mesage": did you mean "message"\? \(allowed: message, tables, for, by, patienceMs\)$/,
          ],
          [{ message: 'x', Tables: ['items'] }, 'E_CONFIG', /^unknown read-only option "Tables": did you mean "tables"\?/],
          [
            { for: 1800 },
            'E_READ_ONLY_BAD_FOR',
            /^read-only option "for" must be a duration with its unit, such as '30m', .*at most '30d'.* \(found 1800\)$/,
          ],
          // A string that is no duration: the library's own name for it, not the CLI's --for.
          [{ for: 'soon' }, 'E_READ_ONLY_BAD_FOR', /^read-only option "for" takes a duration such as 30m, .*got "soon"$/],
          [
            { tables: 'items' },
            'E_CONFIG',
            /^read-only option "tables" must be an array of table names, e\.g\. \['users'\] \(found "items"\)$/,
          ],
          [
            { tables: ['items', 7] },
            'E_CONFIG',
            /^read-only option "tables" must be an array of table names.* \(found 7 at tables\[1\]\)$/,
          ],
          [{ message: 42 }, 'E_CONFIG', /^read-only option "message" must be a string \(found 42\)$/],
          [{ by: {} }, 'E_CONFIG', /^read-only option "by" must be a non-empty string naming who acts.* \(found an object\)$/],
          [null, 'E_CONFIG', /^read-only options must be an object \(found null\)$/],
        ]
        for (const [options, code, message] of enables) {
          await assertRefused(evolve.readOnly.enable(options as never), code, message)
          assert.equal((await evolve.readOnly.status()).readOnly, false, JSON.stringify(options))
        }
        assert.deepEqual(await trackingTables(db), [], 'nothing was written: not even the tracking tables')
        await db.knex('items').insert({ id: 2, counter: 0 }) // no guard was installed

        // While on for items: a bad toggle leaves it exactly as it was.
        const on = await evolve.readOnly.enable({ tables: ['items'], message: 'items only' })
        await assertRefused(
          evolve.readOnly.enable({ message: 'everything', tabels: ['items'] } as never),
          'E_CONFIG',
          /"tabels": did you mean "tables"\?/,
        )
        await assertRefused(
          evolve.readOnly.disable({ froce: true } as never),
          'E_CONFIG',
          /^unknown read-only option "froce": did you mean "force"\? \(allowed: by, force\)$/,
        )
        await assertRefused(
          evolve.readOnly.disable({ force: 'yes' } as never),
          'E_CONFIG',
          /^read-only option "force" must be true or false \(found "yes"\)$/,
        )
        assert.deepEqual(await evolve.readOnly.status(), on)
        await assert.rejects(db.knex('items').insert({ id: 3, counter: 0 }), (err) => isReadOnlyError(err))
        assert.deepEqual(
          (await db.knex('evolve_read_only_audit').orderBy('id')).map((a) => a.action),
          ['on'],
        )
        await evolve.readOnly.disable()
      } finally {
        await evolve.close()
        await db.drop()
      }
    })

    if (dialect === 'sqlite')
      it('stores a table named in another case as the catalog spells it, so the app’s switch and later toggles see it', async () => {
        const db = await fresh(dialect)
        try {
          await createItems(db.knex, 1)
          const cli = (...args: string[]) => runCli(['--db', db.url, 'readonly', ...args])
          assert.equal((await cli('on', '--tables', 'ITEMS')).code, 0)
          assert.deepEqual(JSON.parse((await cli('status', '--json')).stdout).tables, ['items'])
          const again = await cli('on', '--tables', 'items', '--message', 'still items')
          assert.equal(again.code, 0, again.stderr)
          const evolve = await openEvolve({ knex: db.knex })
          assert.deepEqual((await evolve.readOnly.status()).tables, ['items'])
          await evolve.close()
        } finally {
          await db.drop()
        }
      })
  })
}
