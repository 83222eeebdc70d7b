import { EventEmitter } from 'node:events'

/**
 * Sleeps that end early when a control change arrives (PostgreSQL NOTIFY) or the
 * process is stopping; without notifications they simply time out, which is the
 * polling fallback.
 */
export class Wakeup {
  private readonly emitter = new EventEmitter()

  constructor() {
    this.emitter.setMaxListeners(0)
  }

  wake(): void {
    this.emitter.emit('wake')
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.emitter.off('wake', done)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.emitter.once('wake', done)
      signal?.addEventListener('abort', done, { once: true })
    })
  }
}
