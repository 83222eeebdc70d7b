import { dirname, isAbsolute, relative, resolve } from 'node:path'
import { dialectForClient } from '../dialects/for-knex.ts'
import { parseDatabaseUrl } from './parse-url.ts'

/**
 * The evolve.config.ts that `evolve init --db <url>` writes, at `file`. Paths given relative to
 * where init runs (`cwd`) are written relative to the file, where they are read from.
 */
export function configTemplate(db: string, dir: string, file = 'evolve.config.ts', cwd = process.cwd()): string {
  // Parsed for the client (and to reject a bad URL); the file keeps the path as the user wrote it.
  const { client } = parseDatabaseUrl(db, '.', '--db')
  const base = dirname(resolve(cwd, file))
  const moved = (path: string) => {
    if (isAbsolute(path) || base === resolve(cwd) || path === ':memory:') return path
    const there = relative(base, resolve(cwd, path)) || '.'
    return there.startsWith('.') ? there : `./${there}`
  }
  const connection = dialectForClient(client)!.configConnectionSource(db, moved)
  const directory = moved(dir)
  return `import { defineConfig } from 'evolvekit'

export default defineConfig({
  client: '${client}',
  connection: ${connection},
  migrations: { directory: ${JSON.stringify(isAbsolute(directory) || directory.startsWith('.') ? directory : `./${directory}`)} },
})
`
}
