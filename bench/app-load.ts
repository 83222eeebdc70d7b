// The simulated app, run as a child process (fork) so the migration's CPU work in the bench
// process cannot delay it: readers and writers, each its own connection, at a fixed rate.
// Open loop: every operation has a scheduled start, and its latency counts from that start,
// so an operation stuck behind a lock also delays (and is charged for) the ones queued behind it.
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import pg from 'pg'

export interface AppLoadConfig {
  url: string
  /** Ids are drawn uniformly from 1..maxId. */
  maxId: number
  /** Operations per second, all connections together; half reads, half writes. */
  rate: number
  /** Connections per kind: `connections` readers and as many writers. */
  connections: number
}

export interface AppSample {
  kind: 'read' | 'write'
  /** From the scheduled start to the answer: what a user of the app waits. */
  responseMs: number
  /** From sending the statement to the answer: the database's part (lock waits included). */
  serviceMs: number
  /** When the statement was sent, ms after the window opened. */
  sentMs: number
}

export type ToChild = { type: 'start' } | { type: 'stop' }
export type FromChild =
  { type: 'ready' } | { type: 'result'; samples: AppSample[]; errors: number; errorMessages: string[]; seconds: number }

const READ = 'SELECT id, email, name, status, score FROM users WHERE id = $1'
const WRITE = 'UPDATE users SET score = score + 1 WHERE id = $1'

interface AppClient {
  query(sql: string, params: unknown[]): Promise<unknown>
  end(): Promise<void>
}

/**
 * PostgreSQL through pg; SQLite through its own better-sqlite3 handle, as a Node app would use
 * it: synchronous, WAL, a 5 s busy_timeout. A write waiting for the write lock blocks this
 * process meanwhile, and the ops queued behind it are charged for it (open loop).
 */
async function openClient(url: string, kind: string): Promise<AppClient> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length))
    db.pragma('journal_mode = WAL')
    db.pragma('busy_timeout = 5000')
    return {
      query: async (sql, params) => {
        const statement = db.prepare(sql.replace(/\$\d+/g, '?'))
        return statement.reader ? statement.all(...params) : statement.run(...params)
      },
      end: async () => void db.close(),
    }
  }
  const client = new pg.Client({ connectionString: url, application_name: `bench-app-${kind}` })
  await client.connect()
  return { query: (sql, params) => client.query(sql, params), end: () => client.end() }
}

async function main(config: AppLoadConfig): Promise<void> {
  const send = (message: FromChild) => process.send!(message)
  const kinds = ['read', 'write'] as const
  const clients = await Promise.all(
    kinds.flatMap((kind) =>
      Array.from({ length: config.connections }, async () => {
        return { kind, client: await openClient(config.url, kind) }
      }),
    ),
  )
  const intervalMs = (1000 * clients.length) / config.rate
  let window: { start: number; stop: number } = { start: Infinity, stop: Infinity }
  const samples: AppSample[] = []
  const errorMessages: string[] = []
  let errors = 0

  const loop = async ({ kind, client }: (typeof clients)[number], offset: number) => {
    let next = performance.now() + offset
    while (next < window.stop) {
      const wait = next - performance.now()
      if (wait > 0) await sleep(wait)
      if (next >= window.stop) break
      const scheduled = next
      next += intervalMs
      const sent = performance.now()
      try {
        await client.query(kind === 'read' ? READ : WRITE, [1 + Math.floor(Math.random() * config.maxId)])
        const done = performance.now()
        // A timer may fire up to 1 ms early (libuv keeps whole milliseconds): such an op waited for nothing.
        if (scheduled >= window.start)
          samples.push({ kind, responseMs: done - Math.min(scheduled, sent), serviceMs: done - sent, sentMs: sent - window.start })
      } catch (error) {
        if (scheduled < window.start) continue
        errors++
        if (errorMessages.length < 5) errorMessages.push(String((error as Error).message))
      }
    }
  }
  // Connections are spread evenly over the interval, so the total rate is steady.
  const loops = clients.map((c, i) => loop(c, (i * intervalMs) / clients.length))

  process.on('message', (message: ToChild) => {
    if (message.type === 'start') window = { start: performance.now(), stop: Infinity }
    if (message.type === 'stop') window = { ...window, stop: performance.now() }
  })
  await sleep(1000) // warm-up: connections, plans and caches, outside the window
  send({ type: 'ready' })
  await Promise.all(loops) // every operation scheduled inside the window has finished
  // Waits until the result has left: disconnecting right after a large message can lose it.
  await new Promise<void>((resolve) =>
    process.send!(
      { type: 'result', samples, errors, errorMessages, seconds: (window.stop - window.start) / 1000 } satisfies FromChild,
      () => resolve(),
    ),
  )
  await Promise.all(clients.map(({ client }) => client.end()))
  process.disconnect()
}

if (process.send) {
  main(JSON.parse(process.argv[2]!) as AppLoadConfig).catch((error: unknown) => {
    console.error('bench/app-load:', error)
    process.exit(1)
  })
}
