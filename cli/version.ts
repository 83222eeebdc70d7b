import { readFileSync } from 'node:fs'
import { TRACKING_SCHEMA_VERSION } from '../lib/api/schema-version.ts'

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

/**
 * What `evolve --version` prints: the version first, as it always was alone (`cut -d' ' -f1`
 * reads it), then the tracking tables' version this evolvekit writes: two installs that show the
 * same number share a database's tracking tables as they are; the higher one upgrades them.
 */
export function versionLine(): string {
  return `${packageVersion()} (tracking schema ${TRACKING_SCHEMA_VERSION})`
}
