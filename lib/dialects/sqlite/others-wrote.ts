import { statSync } from 'node:fs'
import type { Knex } from 'knex'
import { withNativeConnection } from './native-connection.ts'

/** Per knex (one connection per process: see knexConfig's pool): the last `PRAGMA data_version` read and what it told. */
const seen = new WeakMap<Knex, { version: number; at: number }>()

/** Per connection evolvekit opened: when the file's WAL was last written before it opened, and its data_version then. */
const walAtOpen = new WeakMap<object, { at: number; version: number }>()

/**
 * Called as evolvekit opens its connection, before the connection writes anything of its own: the
 * WAL's modification time is then the last commit (or checkpoint) of the app or any other process.
 * No WAL file: nobody has the file open in WAL mode, so nobody wrote lately.
 */
export function noteWalAtOpen(connection: { name: string; pragma(source: string, options: { simple: true }): unknown }): void {
  const wal = statSync(`${connection.name}-wal`, { throwIfNoEntry: false })
  walAtOpen.set(connection, { at: wal ? wal.mtimeMs : -Infinity, version: Number(connection.pragma('data_version', { simple: true })) })
}

/**
 * When another connection (the app, another process) last committed to the file, as far as this
 * knex's connection can tell, in Date.now() ms. Between calls `PRAGMA data_version`, which changes
 * for a connection whenever another one commits and never for its own commits: a change means now.
 * The first call answers with the WAL's time when evolvekit opened the file (noteWalAtOpen); for a
 * knex evolvekit did not open (the app's own, passed in), with now: unknown.
 */
export async function sqliteOthersWroteAt(knex: Knex): Promise<number> {
  const rows = (await knex.raw('PRAGMA data_version')) as { data_version: number }[]
  const version = Number(rows[0]?.data_version)
  const before = seen.get(knex)
  const at = before === undefined ? await atOpen(knex, version) : before.version !== version ? Date.now() : before.at
  seen.set(knex, { version, at })
  return at
}

/**
 * The note of the knex's one connection (borrowed from its pool for a moment); now if someone
 * committed since it opened (the app, between the open and the first batch), or without a note.
 */
async function atOpen(knex: Knex, version: number): Promise<number> {
  const note = await withNativeConnection(knex, (connection: object) => walAtOpen.get(connection))
  return note && note.version === version ? note.at : Date.now()
}
