import { readFileSync } from 'node:fs'

/**
 * evolvekit's version, read from its package.json at run time: one directory up from this file
 * in the repo (cli/version.ts), two from the compiled one (dist/cli/version.js).
 */
export function packageVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'evolvekit' && pkg.version) return pkg.version
    } catch {
      // not here: try one level further up
    }
  }
  return 'unknown'
}
