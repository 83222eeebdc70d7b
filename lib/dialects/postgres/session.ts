import type { Knex } from 'knex'

/** The part of pg's Client a dedicated session uses. */
export interface PgClient {
  connect(): Promise<void>
  end(): Promise<void>
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
  on(event: 'notification', listener: (msg: { channel: string; payload?: string }) => void): void
  on(event: 'error' | 'end', listener: () => void): void
}

interface PgKnexClient {
  driver: { Client: new (settings: unknown) => PgClient }
  connectionSettings: unknown
}

/** Longest wait between two attempts to open a lost dedicated session again. */
const RECONNECT_MAX_MS = 5_000

/**
 * A session of its own, outside knex's pool (a pooled connection would be handed to queries
 * and lose its LISTEN and its advisory locks), with knex's connection settings. `onLost` is
 * called once when the server or the network ends it; `onNotification` for each NOTIFY.
 */
function dedicatedClient(knex: Knex, onLost: (client: PgClient) => void, onNotification: (channel: string, payload?: string) => void) {
  const { driver, connectionSettings } = knex.client as unknown as PgKnexClient
  const client = new driver.Client(connectionSettings)
  const lost = () => onLost(client)
  client.on('error', lost)
  client.on('end', lost)
  client.on('notification', (msg) => onNotification(msg.channel, msg.payload))
  return client
}

/** What a dedicated session does when it opens, when it is lost, and with its notifications. */
export interface SessionHooks {
  /** Runs on every new session once connected (LISTEN, locks…): a throw discards that session. */
  init(client: PgClient): Promise<void>
  onNotification(channel: string, payload?: string): void
  /** Before each attempt to open a lost session again (e.g. free what the lost one still holds). */
  beforeReopen?(): Promise<void>
  /** After a lost session was opened again. */
  reopened?(): void
  /** Runs the reopening (by default at once): presence queues it behind its own queries. */
  schedule?(reopen: () => Promise<void>): void
}

/**
 * A dedicated session that stays open: once lost while not closed, it is opened again with
 * backoff (100 ms doubling to 5 s) and `init` runs again on the new one. `current()` is the
 * session now, undefined while it is being reopened. `close(drain)` stops reopening, waits for
 * `drain` (work still using the session), then ends it.
 */
export async function openSession(
  knex: Knex,
  hooks: SessionHooks,
): Promise<{ current(): PgClient | undefined; close(drain?: () => Promise<unknown>): Promise<void> }> {
  let closed = false
  let conn: PgClient | undefined
  const schedule = hooks.schedule ?? ((reopen) => void reopen())
  const open = async () => {
    const client = dedicatedClient(
      knex,
      (lost) => {
        if (closed || conn !== lost) return
        conn = undefined
        lost.end().catch(() => {})
        schedule(reopen)
      },
      hooks.onNotification,
    )
    try {
      await client.connect()
      await hooks.init(client)
      conn = client
    } catch (err) {
      await client.end().catch(() => {})
      throw err
    }
  }
  const reopen = async () => {
    for (let delay = 100; !closed && !conn; delay = Math.min(delay * 2, RECONNECT_MAX_MS)) {
      try {
        await hooks.beforeReopen?.()
        await open()
        hooks.reopened?.()
      } catch {
        await new Promise((resolve) => setTimeout(resolve, delay).unref())
      }
    }
  }
  await open()
  return {
    current: () => conn,
    close: async (drain) => {
      closed = true
      await drain?.()
      const client = conn
      conn = undefined
      await client?.end().catch(() => {})
    },
  }
}
