import type { Knex } from 'knex'
import { type PgClient, RECONNECT_MAX_MS, dedicatedClient } from './session.ts'

/**
 * LISTENs on `channel` from a session of its own, outside knex's pool (a pooled connection
 * would be handed to queries and lose the LISTEN). A lost session is opened again with
 * backoff, and `onChange` fires then too: a notification may have been missed meanwhile.
 */
export async function listenPostgres(knex: Knex, channel: string, onChange: () => void): Promise<{ close(): Promise<void> }> {
  let closed = false
  let conn: PgClient | undefined
  const open = async () => {
    const client = dedicatedClient(
      knex,
      (lost) => {
        if (closed || conn !== lost) return
        conn = undefined
        lost.end().catch(() => {})
        void reopen()
      },
      (on) => {
        if (on === channel) onChange()
      },
    )
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
