/**
 * `npm run demo`: a fresh SQLite database, a "live app" that keeps writing rows in the
 * old shape, and `evolve run` evolving the data underneath it. No server needed.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import knexFactory from 'knex'
import { createSchema, oldShapeUser, seedUsers } from './app/schema.ts'

const here = dirname(fileURLToPath(import.meta.url))
const workdir = join(here, '.demo')
const file = join(workdir, 'app.db')
const ROWS = Number(process.env.DEMO_ROWS ?? 50_000)

rmSync(workdir, { recursive: true, force: true })
mkdirSync(workdir, { recursive: true })
const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true })
await knex.raw('PRAGMA journal_mode = WAL')
await createSchema(knex)
await seedUsers(knex, ROWS)
console.log(`demo: ${file} seeded with ${ROWS} users in the old shape`)

// The live app: while the migrations run, it keeps inserting users the old way.
await knex.raw('PRAGMA busy_timeout = 5000')
let appWrites = 0
const app = setInterval(() => {
  knex('users')
    .insert(oldShapeUser(ROWS + appWrites))
    .then(
      () => appWrites++,
      (err) => console.error(`app write failed: ${err.message}`),
    )
}, 20)

const evolve = (...args: string[]) =>
  new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [join(here, '..', 'cli', 'evolve.js'), ...args, '--db', `sqlite:${file}`, '--dir', join(here, 'migrations')],
      { stdio: 'inherit' },
    )
    child.on('exit', (code) => resolve(code ?? 1))
  })

console.log('demo: $ evolve plan')
await evolve('plan')
console.log('demo: $ evolve run   (the app keeps writing old-shape rows meanwhile)')
const code = await evolve('run')
clearInterval(app)
console.log(`demo: the app wrote ${appWrites} old-shape rows during the run`)
console.log('demo: $ evolve status')
await evolve('status')

const [left] = await knex('users').count({ n: '*' }).whereRaw('email <> lower(email) or display_name is null or city is null')
console.log(`demo: rows still in the old shape: ${left!.n} (those written after the final sweep of each migration)`)
await knex.destroy()
process.exit(code)
