// Who is dead: a worker whose heartbeat is late but whose process lives on this host is not (a long
// statement holds its connection, its heartbeat waits behind it); killed with -9, it is.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { LEASE_MS as DEFAULT_LEASE_MS, PID_VOUCHES_FOR_LEASES, deadOwners, liveWorkers, whileAlive } from '../lib/core/liveness.ts'
import { storeFor } from '../lib/store/store.ts'
import { repoRoot } from './helpers/cli.ts'
import { dialects, runnerKnex, withDb } from './helpers/databases.ts'
import { waitUntil } from './helpers/fixtures.ts'

/** A lease far shorter than the wait below: the stalled worker's heartbeat is sure to be older. */
const LEASE_MS = 300

const children = new Set<ReturnType<typeof spawn>>()
after(() => children.forEach((child) => child.kill('SIGKILL')))

/** Starts test/helpers/stalled-worker.ts; resolves with its worker id once it stalls. */
async function stalledWorker(url: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/helpers/stalled-worker.ts'), url, '001_any'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
  const id = await waitUntil('the worker stalled', async () => {
    if (child.exitCode !== null) throw new Error(`the stalled worker exited ${child.exitCode}:\n${out}`)
    return /^stalled (\S+)$/m.exec(out)?.[1]
  })
  return { id, pid: child.pid!, kill: () => (child.kill('SIGKILL'), exited) }
}

for (const d of dialects) {
  describe(`liveness on ${d}`, () => {
    it('keeps a worker alive whose heartbeat is late while its process on this host lives, and finds it dead once killed with -9', () =>
      withDb(d, async (db) => {
        const store = storeFor(db.knex)
        await store.ensure(db.knex)
        const worker = await stalledWorker(db.url)
        try {
          await waitUntil('its heartbeat older than the lease', async () => {
            const [row] = await store.workers.get(db.knex, [worker.id])
            return row !== undefined && row.ageMs > LEASE_MS
          })
          const [row] = await store.workers.get(db.knex, [worker.id])
          assert.equal(row?.pid, worker.pid, 'the worker row records its pid')
          assert.deepEqual([...(await deadOwners(db.knex, store, [worker.id], LEASE_MS))], [], 'a live pid on this host is alive')

          // The same row from another host: its pid says nothing here, and the late heartbeat decides.
          await db.knex('evolve_workers').where({ id: worker.id }).update({ host: 'another-host' })
          assert.deepEqual([...(await deadOwners(db.knex, store, [worker.id], LEASE_MS))], [worker.id])
          await db.knex('evolve_workers').where({ id: worker.id }).update({ host: row!.host })

          // Past the default lease too (status's worker count, a cancel looking for a snapshot's runner).
          await db
            .knex('evolve_workers')
            .where({ id: worker.id })
            .decrement('heartbeat_at', 2 * DEFAULT_LEASE_MS)
          assert.deepEqual(
            (await liveWorkers(store, db.knex, '001_any')).map((w) => w.id),
            [worker.id],
          )
          // Silent for longer than any statement stalls: its pid may be another process's now.
          await db
            .knex('evolve_workers')
            .where({ id: worker.id })
            .decrement('heartbeat_at', PID_VOUCHES_FOR_LEASES * LEASE_MS)
          assert.deepEqual([...(await deadOwners(db.knex, store, [worker.id], LEASE_MS))], [worker.id], 'a pid vouches for a while only')
        } finally {
          assert.equal(await worker.kill(), 'SIGKILL')
        }
        await waitUntil('the killed worker found dead', async () =>
          (await deadOwners(db.knex, store, [worker.id], LEASE_MS)).has(worker.id),
        )
        assert.deepEqual(await liveWorkers(store, db.knex, '001_any'), [])
      }))

    it("rejects with the work's own error when the goodbye fails too (the database went away with it)", () =>
      withDb(d, async (db) => {
        const store = storeFor(db.knex)
        await store.ensure(db.knex)
        const knex = runnerKnex(db)
        const work = async () => {
          await knex.destroy() // the goodbye finds no connection
          throw new Error('the work failed first')
        }
        await assert.rejects(whileAlive({ knex, store, heartbeatMs: 1000 }, 'w-goodbye', '001_any', work), /^Error: the work failed first$/)
      }))
  })
}
