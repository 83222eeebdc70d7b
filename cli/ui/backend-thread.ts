// The UI's database thread. better-sqlite3 is synchronous: a batch, a busy_timeout wait or a
// pending count would freeze the UI's event loop. Every database call (runs included) happens
// here, and the UI thread only renders and answers keys.
import { basename } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { openEvolve } from '../../lib/api/open-evolve.ts'
import { errorMessage } from '../../lib/errors.ts'
import type { GlobalOptions } from '../context.ts'
import { UiBackend } from './backend.ts'

export type ToThread = { id: number; method: string; args: unknown[] }
export type FromThread =
  | { id: number; result?: unknown; error?: { message: string; code?: string } }
  | { event: unknown }
  | { ready: { hasReadOnly: boolean; target: string } }
  | { failed: string }

const port = parentPort!
const post = (m: FromThread) => port.postMessage(m)
const options = workerData as GlobalOptions & { by: string }

try {
  const evolve = await openEvolve({ db: options.db, config: options.config, dir: options.dir, by: options.by, pool: { max: 6 } })
  const backend = new UiBackend(evolve, (event) => post({ event }))
  post({ ready: { hasReadOnly: backend.hasReadOnly, target: describeTarget(evolve.knex.client.config.connection) } })
  port.on('message', async ({ id, method, args }: ToThread) => {
    try {
      const fn = (backend as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!
      post({ id, result: await fn.apply(backend, args) })
    } catch (err) {
      post({ id, error: { message: errorMessage(err), code: (err as { code?: string }).code } })
    }
  })
} catch (err) {
  post({ failed: errorMessage(err) })
}

/** Where the UI points, for its header, without a password: `postgres://app@db1/app`, `sqlite:app.db`. */
function describeTarget(connection: unknown): string {
  if (typeof connection === 'string') {
    try {
      const url = new URL(connection)
      url.password = ''
      return url.href
    } catch {
      return connection
    }
  }
  const c = (connection ?? {}) as Record<string, unknown>
  if (typeof c.filename === 'string') return `sqlite:${basename(c.filename)}`
  if (typeof c.connectionString === 'string') return describeTarget(c.connectionString)
  return `postgres://${c.user ?? ''}${c.user ? '@' : ''}${c.host ?? 'localhost'}/${c.database ?? ''}`
}
