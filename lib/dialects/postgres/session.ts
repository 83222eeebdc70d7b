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
export const RECONNECT_MAX_MS = 5_000

/**
 * A session of its own, outside knex's pool (a pooled connection would be handed to queries
 * and lose its LISTEN and its advisory locks), with knex's connection settings. `onLost` is
 * called once when the server or the network ends it; `onNotification` for each NOTIFY.
 */
export function dedicatedClient(
  knex: Knex,
  onLost: (client: PgClient) => void,
  onNotification: (channel: string, payload?: string) => void,
) {
  const { driver, connectionSettings } = knex.client as unknown as PgKnexClient
  const client = new driver.Client(connectionSettings)
  const lost = () => onLost(client)
  client.on('error', lost)
  client.on('end', lost)
  client.on('notification', (msg) => onNotification(msg.channel, msg.payload))
  return client
}
