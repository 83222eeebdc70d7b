import { statSync } from 'node:fs'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Jiti } from 'jiti'
import { errorMessage, usage } from '../errors.ts'

// The library's entry next to this file: lib/index.ts when run from the repo's sources (tsx),
// dist/lib/index.js in an installed package. Same extension as this very file.
const libraryEntry = fileURLToPath(new URL(`../index${extname(fileURLToPath(import.meta.url))}`, import.meta.url))

let jiti: Jiti | undefined

// jiti loads .ts/.mts/.js/.mjs/.cjs files, ESM or CommonJS, with no build step. It is imported
// on first use: `evolve --help` and the library's own users never pay for it.
// - alias: migration and config files import 'evolvekit' wherever they live, even outside a
//   project that installed it.
// - nativeModules: an installed evolvekit (…/node_modules/evolvekit/dist) is plain JavaScript,
//   loaded by Node itself (require(esm) for a CommonJS file, Node ≥ 20.19), so user files share
//   the CLI's instance of the library instead of a transpiled copy. The repo's lib/index.ts is
//   not under node_modules, so jiti compiles it.
// - interopDefault off: with it, jiti's proxy hides whether a file was CommonJS, see below.
// - fsCache keeps transpiled files between runs.
async function loader(): Promise<Jiti> {
  if (!jiti) {
    const { createJiti } = await import('jiti')
    jiti = createJiti(import.meta.url, {
      alias: { evolvekit: libraryEntry },
      nativeModules: ['evolvekit'],
      interopDefault: false,
      fsCache: true,
    })
  }
  return jiti
}

/**
 * The value a module exports as its default: `export default …` of an ES module (none if it
 * has none), or `module.exports` of a CommonJS file.
 */
export function defaultExport(mod: unknown): unknown {
  if (typeof mod !== 'object' || mod === null) return mod
  const esm = (mod as { __esModule?: unknown }).__esModule === true || Object.prototype.toString.call(mod) === '[object Module]'
  if (esm) return 'default' in mod ? (mod as { default: unknown }).default : undefined
  // CommonJS. jiti wraps a non-object `module.exports` (e.g. a number) as { default }.
  const keys = Object.keys(mod)
  return keys.length === 1 && keys[0] === 'default' ? (mod as { default: unknown }).default : mod
}

/**
 * The names a module exports besides its default (`export const config = …`): what a file that
 * has no default export offers instead, for its error message. None for a CommonJS file.
 */
export function namedExports(mod: unknown): string[] {
  if (typeof mod !== 'object' || mod === null || defaultExport(mod) === mod) return []
  return Object.keys(mod).filter((k) => k !== 'default' && k !== '__esModule')
}

/**
 * Imports a user's file and returns its default export. A file that fails to load
 * (syntax error, missing import) is the user's mistake: one line, naming the file.
 */
export async function importUserModule(file: string, what: string, shown = file): Promise<unknown> {
  return defaultExport(await importUserNamespace(file, what, shown))
}

/** importUserModule's module as it is: its default export and its named ones (see namedExports). */
export async function importUserNamespace(file: string, what: string, shown = file): Promise<unknown> {
  try {
    const modules = await loader()
    forgetIfEdited(modules, file)
    return await modules.import(file)
  } catch (err) {
    const [first, ...rest] = errorMessage(err)
      .split('\n')
      .map((line) => line.trim())
    // A syntax error says where on a line of its own (`/path/file.ts:3:36`): keep that part.
    const at = rest.map((line) => /:(\d+):(\d+)$/.exec(line)).find((m) => m !== null)
    const where = at ? ` (line ${at[1]}, column ${at[2]})` : ''
    throw usage('E_LOAD', `${shown}: cannot load this ${what}: ${first}${where}`)
  }
}

/** When each file was last modified as it was imported. */
const importedAt = new Map<string, number>()

/**
 * A process that stays up (`evolve ui`, `evolve serve`, an app holding the admin object) loads a
 * migration again when its author fixed it meanwhile: a retry must run the file as it is now, not
 * as it was when the process started. (What the file imports is not reloaded.)
 */
function forgetIfEdited(modules: Jiti, file: string): void {
  let modified: number
  try {
    modified = statSync(file).mtimeMs
  } catch {
    return // the import reports a missing file
  }
  const before = importedAt.get(file)
  if (before !== undefined && before !== modified) delete modules.cache[file]
  importedAt.set(file, modified)
}
