import type { Knex } from 'knex'

interface PgClient {
  connect(): Promise<void>
  end(): Promise<void>
  query(sql: string): Promise<unknown>
  on(event: 'notification', listener: (msg: { channel: string }) => void): void
  on(event: 'error' | 'end', listener: () => void): void
}

interface PgKnexClient {
  driver: { Client: new (settings: unknown) => PgClient }
  connectionSettings: unknown
}

const RECONNECT_MAX_MS = 5_000

/**
 * LISTENs on `channel` from a session of its own, outside knex's pool (a pooled connection
 * would be handed to queries and lose the LISTEN). A lost session is opened again with
 * backoff, and `onChange` fires then too: a notification may have been missed meanwhile.
 */
export async function listenPostgres(knex: Knex, channel: string, onChange: () => void): Promise<{ close(): Promise<void> }> {
  let closed = false
  let conn: PgClient | undefined
  const open = async () => {
    const { driver, connectionSettings } = knex.client as unknown as PgKnexClient
    const client = new driver.Client(connectionSettings)
    const onLost = () => {
      if (closed || conn !== client) return
      conn = undefined
      client.end().catch(() => {})
      void reopen()
    }
    client.on('error', onLost)
    client.on('end', onLost)
    client.on('notification', (msg) => {
      if (msg.channel === channel) onChange()
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${channel}`)
      conn = client
    } catch (err) {
      await client.end().catch(() => {})
      throw err
    }
  }
  const reopen = async () => {
    for (let delay = 100; !closed && !conn; delay = Math.min(delay * 2, RECONNECT_MAX_MS)) {
      try {
        await open()
        onChange()
      } catch {
        await new Promise((resolve) => setTimeout(resolve, delay).unref())
      }
    }
  }
  await open()
  return {
    close: async () => {
      closed = true
      const client = conn
      conn = undefined
      await client?.end().catch(() => {})
    },
  }
}
