import { isAbsolute } from 'node:path'
import { dialectForClient } from '../dialects/for-knex.ts'
import { parseDatabaseUrl } from './parse-url.ts'

/** The evolve.config.ts that `evolve init --db <url>` writes. */
export function configTemplate(db: string, dir: string): string {
  // Parsed for the client (and to reject a bad URL); the file keeps the path as the user wrote it.
  const { client } = parseDatabaseUrl(db, '.', '--db')
  const connection = dialectForClient(client)!.configConnectionSource(db)
  return `import { defineConfig } from 'evolvekit'

export default defineConfig({
  client: '${client}',
  connection: ${connection},
  migrations: { directory: ${JSON.stringify(isAbsolute(dir) || dir.startsWith('.') ? dir : `./${dir}`)} },
})
`
}
