import { isAbsolute, resolve } from 'node:path'
import type { Knex } from 'knex'
import { usage } from '../errors.ts'

/** A knex client plus connection, from `postgres://…` or `sqlite:<path>`. */
export function parseDatabaseUrl(url: string, cwd: string, source: string): { client: string; connection: Knex.Config['connection'] } {
  if (/^postgres(ql)?:\/\//.test(url)) {
    // PostgreSQL would pick the database named like the user: the wrong one, said as a missing table.
    if (namesNoDatabase(url) && !process.env.PGDATABASE)
      throw usage(
        'E_NO_DATABASE',
        `${source} "${redact(url)}" names no database: add it to the URL, e.g. postgres://user@host:5432/app (or set PGDATABASE)`,
      )
    return { client: 'pg', connection: url }
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (path === '') throw usage('E_BAD_URL', `${source} "${url}" names no file: use sqlite:<path>, e.g. sqlite:./app.db`)
    return { client: 'better-sqlite3', connection: { filename: isAbsolute(path) ? path : resolve(cwd, path) } }
  }
  throw usage('E_BAD_URL', `${source} "${redact(url)}" is not a database URL: use postgres://user:password@host:5432/db or sqlite:<path>`)
}

/** A postgres:// URL with no database in its path nor in a `dbname`/`database` parameter. */
function namesNoDatabase(url: string): boolean {
  if (!URL.canParse(url)) return false // pg says what is wrong with it
  const parsed = new URL(url)
  return (
    decodeURIComponent(parsed.pathname.replace(/^\//, '')) === '' &&
    !parsed.searchParams.get('dbname') &&
    !parsed.searchParams.get('database')
  )
}

/**
 * Connection strings carry passwords; never print one. The password runs from the first ":"
 * of the authority to its last "@" (a raw "@" or "/" in a password is common), and a
 * `password=` query parameter is hidden too.
 */
export function redact(url: string): string {
  const [, scheme = '', tail = ''] = /^([a-z][a-z0-9+.-]*:\/\/)?(.*)$/is.exec(url) ?? []
  const q = tail.indexOf('?')
  let rest = q >= 0 ? tail.slice(0, q) : tail
  const query = q >= 0 ? tail.slice(q).replace(/([?&]password=)[^&]*/gi, '$1***') : ''
  const at = rest.lastIndexOf('@')
  const colon = rest.indexOf(':')
  if (at >= 0 && colon >= 0 && colon < at) rest = `${rest.slice(0, colon)}:***${rest.slice(at)}`
  return scheme + rest + query
}

/** A URL with its password left out, for files likely to be committed. */
export function withoutPassword(db: string): string {
  if (!URL.canParse(db)) return db
  const url = new URL(db)
  if (!url.password) return db
  url.password = ''
  return url.href
}

/** True when `db` carries a password. */
export function hasPassword(db: string): boolean {
  return URL.canParse(db) && new URL(db).password !== ''
}
