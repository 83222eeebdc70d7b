// Who opened a run is told by a process id of its own, not by host and pid: containers sharing a
// host name each run node as pid 1, and one taking another's opening for its own would serve the
// run with other code beside it (the race lib/core/identity-opener.ts closes).
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { describe, it } from 'node:test'
import { parseMigration } from '../lib/config/migration-schema.ts'
import { definitionOf } from '../lib/core/definition.ts'
import { assertNotServedOtherwise, encodeOpened, thisOpener } from '../lib/core/identity-opener.ts'
import { defineMigration } from '../lib/index.ts'
import type { Run } from '../lib/store/runs.ts'
import { storeFor } from '../lib/store/store.ts'
import { withDb } from './helpers/databases.ts'

const migration = parseMigration('001_items', 'test:001_items', defineMigration({ table: 'items', transform: () => ({ n: 1 }) }))

describe('the opener of a run', () => {
  it('another process with this host name and pid (a container next door) is not taken for this one: a runner with other code is refused', () =>
    withDb('postgres', async (db) => {
      const store = storeFor(db.knex)
      await store.ensure(db.knex)
      const now = await store.now(db.knex)
      const run = (opener: ReturnType<typeof thisOpener>) => ({ definition: encodeOpened(definitionOf(migration), opener) }) as Run
      const neighbour = { host: hostname(), pid: process.pid, at: now, process: 'another-container' }
      await assert.rejects(
        db.knex.transaction((trx) => assertNotServedOtherwise(store, trx, migration, run(neighbour))),
        (err: Error & { code?: string }) => err.code === 'E_MIGRATION_CHANGED' && /another process .* opened it 0 s ago/.test(err.message),
      )
      // This process's own opening is no one else's.
      await db.knex.transaction((trx) => assertNotServedOtherwise(store, trx, migration, run(thisOpener(now))))
    }))
})
