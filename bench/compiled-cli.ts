// The CLI a user runs is the package's compiled bin (dist/cli/bin.js), not the repo's tsx launcher,
// which compiles TypeScript on load and costs ~40 MB of RSS on top: scenarios measuring the
// runner's memory or start-up run the compiled bin, built first when dist/ is missing or stale.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { log } from './progress.ts'

/** The repository's root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The newest modification time of a file under `dir`. */
function newestSource(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const full = path.join(dir, entry.name)
    return Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs)
  }, 0)
}

/** Path of dist/cli/bin.js, after `npm run build` if it is missing or older than lib/ or cli/. */
export function compiledCli(): string {
  const bin = path.join(root, 'dist/cli/bin.js')
  const sources = Math.max(newestSource(path.join(root, 'lib')), newestSource(path.join(root, 'cli')))
  if (!existsSync(bin) || statSync(bin).mtimeMs < sources) {
    log('bench: dist/ is missing or older than the sources: building it (npm run build)')
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  }
  return bin
}

/** The repo's launcher, cli/evolve.js: the TypeScript sources through tsx. */
export const tsxCli = path.join(root, 'cli/evolve.js')
