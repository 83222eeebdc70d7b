// The scratch projects the docs' examples are checked in: 'evolvekit' resolves to this repo's
// lib/index.ts and 'evolvekit/http' to lib/http/index.ts (tsconfig `paths`, which tsx honours too), every other package to the repo's
// node_modules (a symlink), and a SQLite file app.db holds a seeded `users` table.
import { execFile } from 'node:child_process'
import { chmod, mkdir, readdir, symlink, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { cliPath, repoRoot } from './cli.ts'
import { tempDir } from './fixtures.ts'

export const exec = promisify(execFile)
export const libraryEntry = path.join(repoRoot, 'lib', 'index.ts')

/**
 * The names a snippet may use without defining them (documented in docs/doc-examples.md):
 * every value evolvekit exports, as if imported, and a few stand-ins for the reader's own things.
 */
export async function ambientPrelude(): Promise<string> {
  const exported = Object.keys(await import(libraryEntry)).sort()
  return [
    '// Names a docs snippet may use without importing or defining them.',
    ...exported.map((n) => `declare const ${n}: typeof import('evolvekit').${n}`),
    "declare const knex: import('knex').Knex",
    "declare const evolve: import('evolvekit').Evolve",
    'declare const name: string',
    'declare const lastKey: unknown',
    'declare const p99ms: number',
    'declare function queueDepth(): Promise<number>',
    '',
  ].join('\n')
}

/** A directory set up like a user's ESM project that depends on evolvekit. */
export async function scratchProject(prefix: string, tsconfig: object): Promise<string> {
  const dir = await tempDir(prefix)
  await symlink(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'docs-example', private: true, type: 'module' }))
  await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  return dir
}

export const SEEDED_USERS = 2000

/**
 * The project a page's runnable examples share, in order: app.db with `users (id, email, name)`,
 * 2000 rows, the even ids with upper-case letters in their e-mail; `evolve` on PATH (and
 * node_modules/.bin/evolve) is this repo's CLI. Nothing else: no config file, no migrations directory.
 */
export async function runnableProject(): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = await scratchProject('evk-docs-run-', {
    compilerOptions: {
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      allowImportingTsExtensions: true,
      paths: { evolvekit: [libraryEntry], 'evolvekit/http': [path.join(repoRoot, 'lib', 'http', 'index.ts')] },
    },
  })
  const db = new Database(path.join(dir, 'app.db'))
  db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT)')
  const insert = db.prepare('INSERT INTO users (id, email, name) VALUES (?, ?, ?)')
  db.transaction(() => {
    for (let i = 1; i <= SEEDED_USERS; i++) insert.run(i, i % 2 === 0 ? `User${i}@Example.COM` : `user${i}@example.com`, `User ${i}`)
  })()
  db.close()
  // node_modules/.bin/evolve as npm links it (the README runs it by that path), in a node_modules
  // of its own: the shared one is the repo's.
  const modules = path.join(dir, 'node_modules')
  await unlink(modules)
  await mkdir(modules)
  for (const entry of await readdir(path.join(repoRoot, 'node_modules'))) {
    if (entry !== '.bin') await symlink(path.join(repoRoot, 'node_modules', entry), path.join(modules, entry), 'dir')
  }
  const bin = path.join(modules, '.bin')
  await mkdir(bin)
  await writeFile(path.join(bin, 'evolve'), `#!/bin/sh\nexec "${process.execPath}" "${cliPath}" "$@"\n`)
  await chmod(path.join(bin, 'evolve'), 0o755)
  // The examples run on SQLite: `npm test` exports DATABASE_URL for its own PostgreSQL.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|NODE_OPTIONS)$/.test(k)))
  return { dir, env: { ...env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, NO_COLOR: '1' } }
}

/** Before an sh example: `npx evolve …` means the repo's CLI too. */
export const SH_PRELUDE = 'npx() { if [ "$1" = evolve ]; then shift; evolve "$@"; else command npx "$@"; fi; }\n'
