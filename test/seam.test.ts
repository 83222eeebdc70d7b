// The seam: front ends (the CLI, the UI, the HTTP API) reach the engine only through the admin
// layer in lib/api, and the core never branches on the database — the dialect interface does.
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { repoRoot } from './helpers/cli.ts'

function sources(dir: string): string[] {
  const full = path.join(repoRoot, dir)
  return readdirSync(full, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|tsx|js|mjs)$/.test(e.name))
    .map((e) => path.relative(repoRoot, path.join(e.parentPath, e.name)))
}

const importsOf = (file: string) => [...readFileSync(path.join(repoRoot, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!)

describe('the seam', () => {
  it('no front end imports lib/store or lib/core', () => {
    const frontEnds = [...sources('cli'), ...sources('lib/http')]
    const crossings = frontEnds.flatMap((file) =>
      importsOf(file)
        .filter((spec) => /(^|\/)(store|core)\//.test(path.posix.normalize(path.posix.join(path.dirname(file), spec))))
        .map((spec) => `${file} imports ${spec}`),
    )
    assert.deepEqual(crossings, [])
  })

  it('the core and the front ends never ask which database they run on', () => {
    const files = [...sources('lib/core'), ...sources('lib/api'), ...sources('cli'), ...sources('lib/http')]
    const branches = files.filter((file) =>
      /\.name\s*[!=]==\s*'(postgres|sqlite)'|client\s*[!=]==\s*'(pg|better-sqlite3)'/.test(readFileSync(path.join(repoRoot, file), 'utf8')),
    )
    assert.deepEqual(branches, [])
  })

  it('the core imports no database driver', () => {
    const drivers = sources('lib/core').flatMap((file) =>
      importsOf(file)
        .filter((spec) => ['pg', 'better-sqlite3'].includes(spec))
        .map((spec) => `${file} imports ${spec}`),
    )
    assert.deepEqual(drivers, [])
  })
})
