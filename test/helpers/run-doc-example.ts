// Runs one runnable TypeScript example of the docs (argv[2]) in its page's project (the cwd),
// with the documented prelude: a global `knex` on ./app.db, destroyed when the example ends.
// An example that leaves anything else open (an Evolve not closed) keeps this process alive,
// which the test reports: examples close what they open.
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import knexFactory from 'knex'

const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: path.resolve('app.db') }, useNullAsDefault: true })
Object.assign(globalThis, { knex })
try {
  await import(pathToFileURL(path.resolve(process.argv[2]!)).href)
} finally {
  await knex.destroy()
}
