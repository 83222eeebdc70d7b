// Snapshot mode under a live app: a reader running the whole time never errs and always sees
// the complete table, either all old or all evolved (the swap is atomic); a writer is refused
// only during the read-only window and every write it got accepted is in the final table.
import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { openEvolve } from '../lib/index.ts'
import { dialects, runnerKnex, withDb } from './helpers/databases.ts'
import { createShop, snapshotMigration, waitUntil, writeFiles } from './helpers/fixtures.ts'

const ROWS = 2000
const NAME = '001_lowercase'

interface Read {
  rows: number
  lower: number
}

for (const d of dialects) {
  describe(`snapshot mode under a live app on ${d}`, () => {
    it('a reader running throughout sees no error and always the complete table, all old or all evolved', () =>
      withDb(d, async (db) => {
        await createShop(db, ROWS)
        const dir = await writeFiles({ [`${NAME}.ts`]: snapshotMigration() })
        const knex = runnerKnex(db)
        const evolve = await openEvolve({ knex, migrations: dir })
        const reads: Read[] = []
        const errors: string[] = []
        let stop = false
        const reader = (async () => {
          while (!stop) {
            try {
              const row = await db
                .knex('users')
                .first(db.knex.raw('count(*) AS n'), db.knex.raw('sum(CASE WHEN email = lower(email) THEN 1 ELSE 0 END) AS l'))
              reads.push({ rows: Number(row.n), lower: Number(row.l) })
            } catch (err) {
              errors.push((err as Error).message)
            }
            await yieldToLoop()
          }
        })()
        try {
          await waitUntil('a first read', async () => reads.length > 0)
          const [result] = await (await evolve.run()).done
          assert.equal(result?.state, 'done')
          const readsBefore = reads.length
          await waitUntil('a read after the run', async () => reads.length > readsBefore)
        } finally {
          stop = true
          await reader
          await evolve.close()
          await knex.destroy()
        }
        assert.deepEqual(errors, [])
        const torn = reads.filter((r) => r.rows !== ROWS || (r.lower !== 0 && r.lower !== ROWS))
        assert.deepEqual(torn, [], 'every read saw every row, all in the old shape or all in the new one')
        assert.equal(reads[0]!.lower, 0)
        assert.equal(reads.at(-1)!.lower, ROWS)
      }))

    it('a writer is refused only during the read-only window and every accepted write is in the final table', () =>
      withDb(d, async (db) => {
        const { isReadOnlyError } = (await import('../lib/index.ts')) as unknown as { isReadOnlyError: (err: unknown) => boolean }
        await createShop(db, ROWS)
        const dir = await writeFiles({ [`${NAME}.ts`]: snapshotMigration() })
        const knex = runnerKnex(db)
        const evolve = await openEvolve({ knex, migrations: dir })
        let window = 'before' as 'before' | 'open' | 'after'
        evolve.events.on('snapshot:step', (e) => {
          if (e.step === 'read-only') window = 'open'
          if (e.step === 'done') window = 'after'
        })
        const accepted: number[] = []
        const refusedOutside: string[] = []
        const unexpected: string[] = []
        let refusals = 0
        let stop = false
        let next = ROWS + 1
        const writer = (async () => {
          while (!stop) {
            const id = next
            const during = window
            try {
              await db.knex('users').insert({ id, email: `w${id}@example.com` })
              accepted.push(id)
              next++
            } catch (err) {
              if (!isReadOnlyError(err)) unexpected.push((err as Error).message)
              else if (during !== 'open' || window !== 'open') refusedOutside.push(`${during}→${window}`)
              else refusals++
            }
            await yieldToLoop()
          }
        })()
        // The run holds before its swap, read-only on, until the writer has met the window: the
        // window of a 2,000-row table is a few ms, which a writer yielding between tries can miss.
        const hold = path.join(await mkdtemp(path.join(os.tmpdir(), 'evk-hold-')), 'hold')
        await writeFile(hold, 'swap')
        process.env.EVOLVE_SNAPSHOT_HOLD_FILE = hold
        try {
          const running = await evolve.run()
          await waitUntil('the writer refused in the read-only window', async () => refusals > 0)
          await writeFile(hold, '')
          const [result] = await running.done
          assert.equal(result?.state, 'done')
          const acceptedBefore = accepted.length
          await waitUntil('a write accepted after the window', async () => accepted.length > acceptedBefore)
        } finally {
          delete process.env.EVOLVE_SNAPSHOT_HOLD_FILE
          stop = true
          await writer
          await evolve.close()
          await knex.destroy()
        }
        assert.deepEqual(unexpected, [])
        // A refusal that straddles a window edge (asked while open, answered after) is allowed: it was refused in the window.
        assert.ok(
          refusedOutside.every((w) => w.includes('open')),
          `refused outside the window: ${refusedOutside.join(', ')}`,
        )
        const ids = new Set((await db.knex('users').where('id', '>', ROWS).select('id')).map((r: { id: unknown }) => Number(r.id)))
        assert.deepEqual(
          accepted.filter((id) => !ids.has(id)),
          [],
          'every accepted write is in the final table',
        )
      }))
  })
}
