import type { Knex } from 'knex'
import { openSession } from './session.ts'

/**
 * LISTENs on `channel` from a session of its own, outside knex's pool (a pooled connection
 * would be handed to queries and lose the LISTEN). A lost session is opened again with
 * backoff, and `onChange` fires then too: a notification may have been missed meanwhile.
 */
export async function listenPostgres(knex: Knex, channel: string, onChange: () => void): Promise<{ close(): Promise<void> }> {
  const session = await openSession(knex, {
    init: async (client) => {
      await client.query(`LISTEN ${channel}`)
    },
    onNotification: (on) => {
      if (on === channel) onChange()
    },
    reopened: onChange,
  })
  return { close: () => session.close() }
}
