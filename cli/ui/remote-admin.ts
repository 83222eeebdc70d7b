import { EventEmitter } from 'node:events'
import { Worker } from 'node:worker_threads'
import type { GlobalOptions } from '../context.ts'
import type { UiAdmin } from './admin.ts'
import type { FromThread } from './backend-thread.ts'

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void }

// From the sources (tsx) the thread needs tsx registered first (backend-entry.js); the package's
// compiled dist/ has backend-thread.js itself, and no backend-entry.js.
const THREAD_ENTRY = import.meta.url.endsWith('.ts') ? './backend-entry.js' : './backend-thread.js'

/**
 * The admin layer as the UI thread sees it: each call is a message to the database thread
 * (backend-thread.ts), each event comes back as one. Opening fails with the database's
 * own message (unreachable, bad config).
 */
export async function openRemoteAdmin(options: GlobalOptions & { by: string }): Promise<UiAdmin & { terminate(): Promise<void> }> {
  const worker = new Worker(new URL(THREAD_ENTRY, import.meta.url), { workerData: options })
  const events = new EventEmitter()
  const pending = new Map<number, Pending>()
  let next = 0
  const ready = new Promise<{ hasReadOnly: boolean; target: string }>((resolve, reject) => {
    worker.on('message', (m: FromThread) => {
      if ('ready' in m) resolve(m.ready)
      else if ('failed' in m) reject(new Error(m.failed))
      else if ('event' in m) events.emit('event', m.event)
      else {
        const p = pending.get(m.id)
        pending.delete(m.id)
        if (m.error) p?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }))
        else p?.resolve(m.result)
      }
    })
    worker.on('error', reject)
    worker.on('exit', () => {
      reject(new Error('the database thread ended'))
      for (const p of pending.values()) p.reject(new Error('the database thread ended'))
      pending.clear()
    })
  })
  let info: { hasReadOnly: boolean; target: string }
  try {
    info = await ready
  } catch (err) {
    await worker.terminate()
    throw err
  }
  const call =
    <T>(method: string) =>
    (...args: unknown[]): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const id = next++
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        worker.postMessage({ id, method, args })
      })
  return {
    events,
    target: info.target,
    hasReadOnly: info.hasReadOnly,
    snapshot: call('snapshot'),
    run: call('run'),
    retry: call('retry'),
    pause: call('pause'),
    resume: call('resume'),
    cancel: call('cancel'),
    scaleBatchSize: call('scaleBatchSize'),
    failures: call('failures'),
    setReadOnly: call('setReadOnly'),
    stopAll: call('stopAll'),
    close: call('close'),
    async terminate() {
      await worker.terminate()
    },
  }
}
