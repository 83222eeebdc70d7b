import type { ReadOnlyGuard } from '../dialect.ts'

const PREFIX = 'evolve_read_only_'
const BYPASS = 'evolve_read_only_bypass'
const MARK = 'read-only: '
const OPS = ['insert', 'update', 'delete'] as const

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`

/**
 * SQLite: BEFORE INSERT/UPDATE/DELETE triggers that RAISE(ABORT, message). The runner lets
 * its own writes through by inserting the token into evolve_read_only_bypass inside its
 * transaction and deleting it before commit: SQLite has one writer at a time, so no other
 * connection ever sees that row (WAL readers see only committed data), and a crash rolls
 * it back. An app connection would have to insert the secret token itself.
 */
export const sqliteReadOnlyGuard: ReadOnlyGuard = {
  // One writer at a time: the toggle waits for the app's write lock (busy_timeout) but readers never wait (WAL).
  async beginToggle() {},
  async userTables(db) {
    const rows: { name: string }[] = await db.raw(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'evolve\\_%' ESCAPE '\\' ORDER BY name`,
    )
    return rows.map((r) => r.name)
  },
  async install(trx, tables, message, token) {
    for (const table of tables) {
      for (const op of OPS) {
        // A trigger's name is per database: the table is part of it.
        await trx.raw(
          `CREATE TRIGGER ${ident(`${PREFIX}${op}_${table}`)} BEFORE ${op.toUpperCase()} ON ${ident(table)}
             WHEN NOT EXISTS (SELECT 1 FROM ${BYPASS} WHERE token = ${literal(token)})
             BEGIN SELECT RAISE(ABORT, ${literal(`${MARK}${message}`)}); END`,
        )
      }
    }
  },
  async removeAll(trx) {
    const rows: { name: string }[] = await trx.raw(
      `SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'evolve\\_read\\_only\\_%' ESCAPE '\\'`,
    )
    for (const { name } of rows) await trx.raw(`DROP TRIGGER IF EXISTS ${ident(name)}`)
  },
  async bypass(trx, token, fn) {
    const [id] = await trx(BYPASS).insert({ token })
    try {
      return await fn()
    } finally {
      // Gone before commit; on an error the transaction rolls back anyway.
      await trx(BYPASS)
        .where('rowid', id)
        .delete()
        .catch(() => {})
    }
  },
  refusalMessage(err) {
    if (!sqliteReadOnlyGuard.isRefusal(err)) return null
    const text = String((err as { message?: unknown }).message)
    return text.slice(text.indexOf(MARK) + MARK.length)
  },
  isRefusal(err) {
    if (typeof err !== 'object' || err === null) return false
    const { code, message } = err as { code?: unknown; message?: unknown }
    return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT') && String(message).includes(MARK)
  },
}
