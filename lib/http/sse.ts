import type { EventEmitter } from 'node:events'
import type { FastifyInstance } from 'fastify'
import type { Evolve } from '../api/evolve.ts'

type RunProgress = Awaited<ReturnType<Evolve['progress']>>

const PROGRESS_EVERY_MS = 1000
const KEEPALIVE_MS = 15_000

/**
 * GET /events: Server-Sent Events of run state changes (`run-state`), progress ticks
 * (`progress`, at most one a second per run) and read-only changes (`read-only`). One
 * `evolve.watch()` polls the database while at least one client listens.
 */
export function eventRoutes(app: FastifyInstance, evolve: Evolve, watchIntervalMs: number): void {
  const streams = new Set<() => void>()
  let stopWatch: (() => void) | undefined

  // Streams never end by themselves: close them so the server's close() can finish.
  app.addHook('preClose', async () => {
    for (const end of streams) end()
  })

  app.get('/events', (request, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write(': evolvekit events\n\n')
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

    const lastTick = new Map<string, { at: number; state: string }>()
    const onState = (e: unknown) => send('run-state', e)
    const onProgress = (p: RunProgress) => {
      const last = lastTick.get(p.name)
      const now = Date.now()
      if (last && last.state === p.state && now - last.at < PROGRESS_EVERY_MS) return
      lastTick.set(p.name, { at: now, state: p.state })
      send('progress', p)
    }
    const onReadOnly = (s: unknown) => send('read-only', s)
    const events = evolve.events as unknown as EventEmitter
    events.on('run:state', onState)
    events.on('progress', onProgress)
    // Emitted by the read-only switch (contracts: 'read-only'), once it exists.
    events.on('read-only', onReadOnly)
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS)
    stopWatch ??= evolve.watch({ intervalMs: watchIntervalMs })

    const end = () => {
      if (!streams.delete(end)) return
      clearInterval(keepalive)
      events.off('run:state', onState)
      events.off('progress', onProgress)
      events.off('read-only', onReadOnly)
      if (streams.size === 0) {
        stopWatch?.()
        stopWatch = undefined
      }
      res.end()
    }
    streams.add(end)
    request.raw.on('close', end)
  })
}
