// The public API's types, as a TypeScript app sees them: test/types/public-api.ts is compiled by tsc
// in a project like a user's (the docs examples' scratch project), where 'evolvekit' is this repo's
// library. Its `@ts-expect-error` lines are the mistakes the types must refuse, every other line
// what must compile; tsc reports a directive with no error under it, so both ways are checked.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { createMigration, defineMigration } from '../lib/index.ts'
import type { EvolveClient } from '../lib/index.ts'
import { dialectForClient } from '../lib/dialects/for-knex.ts'
import { repoRoot } from './helpers/cli.ts'
import { exec, scratchProject } from './helpers/doc-project.ts'

const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')

/** tsc's report on `files` (name → source) in a scratch project set up as the repo's; '' when clean. */
async function typeErrors(files: Record<string, string>): Promise<string> {
  const dir = await scratchProject('evk-types-', {
    extends: path.join(repoRoot, 'tsconfig.json'),
    compilerOptions: { lib: ['ES2022'], noEmit: true },
    files: Object.keys(files),
    include: [],
  })
  for (const [name, source] of Object.entries(files)) await writeFile(path.join(dir, name), source)
  const result = await exec(process.execPath, [tsc, '--noEmit', '-p', dir], { cwd: dir, maxBuffer: 16 << 20 }).catch((e) => e)
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim()
}

describe('The public TypeScript API', () => {
  it('compiles what an app may write and refuses each mistake test/types/public-api.ts marks', async () => {
    const source = await readFile(path.join(repoRoot, 'test', 'types', 'public-api.ts'), 'utf8')
    assert.equal(await typeErrors({ 'app.ts': source }), '')
  })

  it('refuses a misspelt event name at the name itself, whatever @types/node the app has', async () => {
    // @types/node's own typing accepts any name since version 25, and in the repo's 20.x refuses
    // only the listener (as `never`), naming no event: the name must be what tsc points at.
    const out = await typeErrors({
      'app.ts': `import { openEvolve, createReadOnlySwitch } from 'evolvekit'
const evolve = await openEvolve({ db: 'sqlite:./app.db' })
evolve.events.on('run:ended', (e) => console.log(e))
createReadOnlySwitch(evolve.knex).on('changed', () => {})
export {}
`,
    })
    // The first overload is the typed one (the second, of `never`, only keeps @types/node's check quiet).
    assert.match(
      out,
      /^app\.ts\(3,18\): error TS\d+:[^]*?Argument of type '"run:ended"' is not assignable to parameter of type 'keyof EvolveEvents'/m,
      out,
    )
    assert.match(out, /^app\.ts\(4,38\): error TS\d+: Argument of type '"changed"' is not assignable to parameter of type '"change"'/m, out)
  })

  it('names in EvolveClient exactly the knex clients the config file is checked against', () => {
    const clients = ['pg', 'postgres', 'postgresql', 'better-sqlite3'] as const satisfies readonly EvolveClient[]
    // Every member of the union is listed above (a new one would fail to compile here).
    const listed: readonly EvolveClient[] = clients
    const everyClient: (typeof clients)[number] = 'pg' as EvolveClient
    assert.ok(listed && everyClient)
    for (const client of clients) assert.ok(dialectForClient(client), `${client} has a dialect`)
    for (const client of ['sqlite3', 'sqlite', 'mysql', 'mysql2', 'pg-native']) assert.equal(dialectForClient(client), undefined, client)
  })

  it('defineMigration<Row>() hands back the definition it is given, as defineMigration(definition) does', () => {
    const definition = { table: 'users', columns: ['email'] as const, transform: (row: { email: string }) => ({ email: row.email.trim() }) }
    assert.equal(defineMigration<{ id: number; email: string }>()(definition), definition)
    assert.equal(defineMigration(definition), definition)
    assert.equal(createMigration('trim', defineMigration<{ id: number; email: string }>()(definition)).table, 'users')
  })
})
