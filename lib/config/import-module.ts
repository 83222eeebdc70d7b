import { createJiti } from 'jiti'
import { errorMessage, usage } from '../errors.ts'

// jiti loads .ts/.mts/.js/.mjs files, ESM or CommonJS, with no build step; the alias lets
// migration and config files import 'evolvekit' wherever they live, even outside a project
// that installed it. Its disk cache keeps the library's transpiled files between runs, so
// the CLI does not compile the whole library again for every command.
const jiti = createJiti(import.meta.url, {
  alias: { evolvekit: new URL('../index.ts', import.meta.url).pathname },
  fsCache: true,
})

/**
 * Imports a user's file and returns its default export. A file that fails to load
 * (syntax error, missing import) is the user's mistake: one line, naming the file.
 */
export async function importUserModule(file: string, what: string, shown = file): Promise<unknown> {
  try {
    const mod = (await jiti.import(file)) as Record<string, unknown>
    // jiti's namespace answers `.default` even when there is none; `in` tells the truth.
    // CommonJS `module.exports = …` arrives as `default` too.
    return 'default' in mod ? mod.default : undefined
  } catch (err) {
    const firstLine = errorMessage(err).split('\n')[0]
    throw usage('E_LOAD', `${shown}: cannot load this ${what}: ${firstLine}`)
  }
}
