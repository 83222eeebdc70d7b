import { isAbsolute } from 'node:path'
import { parseDatabaseUrl } from '../../lib/config/parse-url.ts'

/** A password in a PostgreSQL URL is left out of the file (it is likely to be committed). */
export function withoutPassword(db: string): { url: string; hadPassword: boolean } {
  if (!URL.canParse(db)) return { url: db, hadPassword: false }
  const url = new URL(db)
  if (!url.password) return { url: db, hadPassword: false }
  url.password = ''
  return { url: url.href, hadPassword: true }
}

export function configTemplate(db: string, dir: string): string {
  // Parsed for the client (and to reject a bad URL); the file keeps the path as the user wrote it.
  const { client } = parseDatabaseUrl(db, '.', '--db')
  const connection =
    client === 'better-sqlite3'
      ? `{ filename: ${JSON.stringify(db.slice('sqlite:'.length))} }`
      : `process.env.DATABASE_URL ?? ${JSON.stringify(withoutPassword(db).url)}`
  return `import { defineConfig } from 'evolvekit'

export default defineConfig({
  client: '${client}',
  connection: ${connection},
  migrations: { directory: ${JSON.stringify(isAbsolute(dir) || dir.startsWith('.') ? dir : `./${dir}`)} },
})
`
}

export function migrationTemplate(name: string): string {
  return `import { defineMigration } from 'evolvekit'

export default defineMigration({
  description: ${JSON.stringify(name)},
  table: 'users', // the table to evolve
  key: 'id', // a unique, ordered, single column
  // The rows that still need evolving; omit it to evolve every row once.
  pending: (q) => q.whereRaw('email <> lower(email)'),
  // Exactly one of transform / set / up:
  transform: (row) => ({ email: row.email.toLowerCase() }),
  // set: { email: (k) => k.raw('lower(email)') },
  // async up(rows, ctx) { /* ctx.trx is the batch transaction */ },
  batchSize: 1000,
})
`
}
