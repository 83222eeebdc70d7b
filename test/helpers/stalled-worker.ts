// Run as a child process (node --import tsx stalled-worker.ts <db url> <run name>): a worker that
// registers as the runner's workers do, beats a few times, then holds its process's only
// connection in a transaction that never ends, as a long statement does. Its heartbeats queue
// behind it: the process lives, its heartbeat goes stale. Prints `stalled <worker id>` then.
import knex from 'knex'
import { whileAlive } from '../../lib/core/liveness.ts'
import { newWorkerId } from '../../lib/core/worker.ts'
import { storeFor } from '../../lib/store/store.ts'

const [url, runName] = process.argv.slice(2) as [string, string]
const db = url.startsWith('sqlite:')
  ? knex({ client: 'better-sqlite3', connection: { filename: url.slice('sqlite:'.length) }, useNullAsDefault: true })
  : knex({ client: 'pg', connection: url, pool: { min: 1, max: 1 } })
const store = storeFor(db)
const presence = await store.dialect.openPresence?.(db, () => {})
const id = newWorkerId()
setInterval(() => {}, 1 << 30) // nothing else keeps a SQLite process alive while it waits
await whileAlive({ knex: db, store, presence, heartbeatMs: 20 }, id, runName, () =>
  db.transaction(async (trx) => {
    await trx.raw('SELECT 1')
    console.log(`stalled ${id}`)
    await new Promise(() => {}) // the statement that never ends; a kill -9 ends the process here
  }),
)
