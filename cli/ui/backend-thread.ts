// The UI's database thread. better-sqlite3 is synchronous: a batch, a busy_timeout wait or a
// pending count would freeze the UI's event loop. Every database call (runs included) happens
// here, and the UI thread only renders and answers keys.
import { parentPort, workerData } from 'node:worker_threads'
import { openEvolveFromCli } from '../../lib/api/open-evolve.ts'
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
  const evolve = await openEvolveFromCli({ db: options.db, config: options.config, dir: options.dir, by: options.by, pool: { max: 6 } })
  const backend = new UiBackend(evolve, (event) => post({ event }))
  post({ ready: { hasReadOnly: backend.hasReadOnly, target: evolve.target } })
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
