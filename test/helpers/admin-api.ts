// A real admin API server on a loopback port (in this process) and a real HTTP client
// (global fetch), plus a reader of its Server-Sent Events.
import { Evolve } from '../../lib/api/evolve.ts'
import { type AdminApiOptions, type ApiToken, createAdminApi } from '../../lib/http/index.ts'

export const TOKEN = 'ops-token-0123456789abcdef'
export const TOKENS: ApiToken[] = [{ name: 'ops', token: TOKEN }]

export interface ApiServer {
  url: string
  /** fetch with the good token (pass `token: null` for none, or another token). */
  call(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>
  close(): Promise<void>
}

/** Serves `evolve`, or an admin object the API opens itself on a knex. */
export async function startApi(
  source: Evolve | Pick<AdminApiOptions, 'knex' | 'migrations'>,
  opts: Pick<AdminApiOptions, 'watchIntervalMs' | 'logger'> = {},
): Promise<ApiServer> {
  const serve = source instanceof Evolve ? { evolve: source } : source
  const app = await createAdminApi({ ...serve, tokens: TOKENS, logger: opts.logger ?? false, watchIntervalMs: opts.watchIntervalMs ?? 100 })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  return { ...apiClient(url), close: () => app.close() }
}

/** A client of an admin API at `url` (served here or by an `evolve serve` process), using `token` by default. */
export function apiClient(url: string, defaultToken = TOKEN): Omit<ApiServer, 'close'> {
  return {
    url,
    call(path, init = {}) {
      const { token = defaultToken, json, ...rest } = init
      const headers = new Headers(rest.headers)
      if (token !== null) headers.set('authorization', `Bearer ${token}`)
      if (json !== undefined) headers.set('content-type', 'application/json')
      return fetch(url + path, { ...rest, headers, body: json === undefined ? rest.body : JSON.stringify(json) })
    },
  }
}

export interface SseEvent {
  event: string
  data: unknown
}

export interface SseStream {
  events: SseEvent[]
  /** Resolves with the first event (seen so far or later) that matches. */
  waitFor(what: string, match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>
  close(): void
}

/** Opens GET /events and parses the stream as it arrives. */
export async function openEvents(server: Pick<ApiServer, 'call'>): Promise<SseStream> {
  const controller = new AbortController()
  const res = await server.call('/events', { signal: controller.signal })
  if (res.status !== 200) throw new Error(`GET /events: ${res.status} ${await res.text()}`)
  const events: SseEvent[] = []
  const listeners = new Set<() => void>()
  void (async () => {
    let buffer = ''
    const decoder = new TextDecoder()
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (event && data) events.push({ event, data: JSON.parse(data) })
          listeners.forEach((l) => l())
        }
      }
    } catch {
      // Aborted by close().
    }
  })()
  return {
    events,
    waitFor(what, match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match)
          if (!found) return
          clearTimeout(timer)
          listeners.delete(check)
          resolve(found)
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error(`no ${what} on /events within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.event))}`))
        }, timeoutMs)
        listeners.add(check)
        check()
      })
    },
    close: () => controller.abort(),
  }
}

/** Asserts the RFC 9457 shape and returns the problem. */
export async function problemOf(res: Response): Promise<Record<string, unknown>> {
  const type = res.headers.get('content-type') ?? ''
  if (!type.startsWith('application/problem+json')) throw new Error(`expected problem+json, got ${type}: ${await res.text()}`)
  const body = (await res.json()) as Record<string, unknown>
  if (body.status !== res.status || typeof body.title !== 'string') throw new Error(`not a problem: ${JSON.stringify(body)}`)
  return body
}
