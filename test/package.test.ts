// The package as a user installs it: `npm pack` (which builds dist/ through `prepack`), the
// tarball installed into a scratch project outside the repo, then plain `node` (no tsx) and the
// installed `evolve` command there.
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, readFile, realpath, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { repoRoot } from './helpers/cli.ts'
import { hasTmux, screen, startSession, tempDir, tmux } from './helpers/fixtures.ts'

const exec = promisify(execFile)
const { version } = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }

// `npm test` runs under npm, whose npm_* variables (npm_config_local_prefix = the repo, …) would
// make the npm commands below act on the repo instead of the scratch project.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|INIT_CWD$|NODE_OPTIONS$)/i.test(k)))

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await exec(cmd, args, { cwd, env: { ...env, NO_COLOR: '1' }, maxBuffer: 16 << 20 })
    return stdout
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${e.message}\nstdout:\n${e.stdout}\nstderr:\n${e.stderr}`)
  }
}

let packed: string[] = []
let project = ''

/**
 * Packs the repo and installs the tarball into a new CommonJS project (no "type" in its
 * package.json) from npm's cache where it can. Scripts are off for speed: better-sqlite3's
 * install script compiles SQLite from source when no prebuilt binary can be downloaded (about a
 * minute), so the repo's own compiled binary is copied in when the versions match, and built
 * otherwise. evolvekit itself has no install script: its dist/ is in the tarball.
 */
async function install(): Promise<void> {
  const out = await tempDir('evk-pack-')
  const [result] = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', out], repoRoot)) as {
    filename: string
    files: { path: string }[]
  }[]
  packed = result!.files.map((f) => f.path)
  project = await tempDir('evk-scratch-')
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }))
  // --engine-strict: every package installed must declare this Node as supported (a transitive
  // cookie@2 wanting node >= 22 once made such installs fail; see light-my-request in package.json).
  await run(
    'npm',
    [
      'install',
      path.join(out, result!.filename),
      '--engine-strict',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
    ],
    project,
  )
  const binding = 'build/Release/better_sqlite3.node'
  const sqlite = (root: string) => path.join(root, 'node_modules', 'better-sqlite3')
  const versionOf = async (dir: string) =>
    (JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version
  if ((await versionOf(sqlite(repoRoot))) === (await versionOf(sqlite(project)))) {
    await mkdir(path.dirname(path.join(sqlite(project), binding)), { recursive: true })
    await copyFile(path.join(sqlite(repoRoot), binding), path.join(sqlite(project), binding))
  } else {
    await run('npm', ['rebuild', 'better-sqlite3', '--loglevel=error'], project)
  }
}

const MIGRATION_TS = `import { defineMigration } from 'evolvekit'
import { lower } from './_lower.ts'

interface User { id: number; email: string }

export default defineMigration<User>({
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)').where('id', '<=', 10),
  transform: (row: User) => ({ email: lower(row.email) }),
})
`
const MIGRATION_CJS = (where: string) => `const { defineMigration } = require('evolvekit')
module.exports = defineMigration({
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)').whereRaw(${JSON.stringify(where)}),
  transform: (row) => ({ email: row.email.toLowerCase() }),
})
`

describe('the packed package', { concurrency: false, timeout: 600_000 }, () => {
  before(install, { timeout: 600_000 })

  it('ships dist/ and the README, and no sources or tests', () => {
    assert.ok(packed.includes('README.md'), packed.join('\n'))
    for (const file of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/index.js.map', 'dist/cli/bin.js'])
      assert.ok(packed.includes(file), `${file} is packed`)
    const stray = packed.filter((f) => !f.startsWith('dist/') && !['README.md', 'package.json', 'LICENSE'].includes(f))
    assert.deepEqual(stray, [])
    assert.deepEqual(
      packed.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
      [],
    )
  })

  it('package.json points every entry (main, exports, bin) at compiled JavaScript in dist/, never at a .ts file', async () => {
    const pkg = JSON.parse(await readFile(path.join(project, 'node_modules', 'evolvekit', 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >
    const targets: string[] = []
    const collect = (v: unknown): void => {
      if (typeof v === 'string') targets.push(v)
      else if (v && typeof v === 'object') Object.values(v).forEach(collect)
    }
    collect([pkg.main, pkg.types, pkg.exports, pkg.bin])
    assert.ok(targets.length >= 4, targets.join(', '))
    for (const target of targets)
      assert.ok(target === './package.json' || /^\.\/dist\/.*\.js$/.test(target), `${target} is not compiled JavaScript in dist/`)
    for (const target of targets.filter((t) => t.endsWith('.js'))) assert.ok(packed.includes(target.slice(2)), `${target} is packed`)
  })

  it('has no script npm runs when the package is installed (npm 11 lists such packages for approval), and builds dist/ when packed', async () => {
    const { scripts } = JSON.parse(await readFile(path.join(project, 'node_modules', 'evolvekit', 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
    }
    const installTime = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare', 'prepublish']
    assert.deepEqual(
      installTime.filter((s) => s in scripts),
      [],
    )
    assert.equal(scripts.prepack, 'npm run build')
  })

  it('plain node imports defineMigration, isDone and Runner from evolvekit (ES module), from dist/', async () => {
    await writeFile(
      path.join(project, 'app.mjs'),
      `import { defineMigration, isDone, Runner } from 'evolvekit'
console.log(JSON.stringify([typeof defineMigration, typeof isDone, typeof Runner, import.meta.resolve('evolvekit')]))
`,
    )
    const [d, i, r, resolved] = JSON.parse(await run(process.execPath, ['app.mjs'], project)) as string[]
    assert.deepEqual([d, i, r], ['function', 'function', 'function'])
    assert.match(resolved!, /\/node_modules\/evolvekit\/dist\/lib\/index\.js$/)
  })

  it('plain node requires defineMigration, isDone and Runner from evolvekit (CommonJS)', async () => {
    await writeFile(
      path.join(project, 'app.cjs'),
      `const { defineMigration, isDone, Runner } = require('evolvekit')
console.log(JSON.stringify([typeof defineMigration, typeof isDone, typeof Runner]))
`,
    )
    assert.deepEqual(JSON.parse(await run(process.execPath, ['app.cjs'], project)), ['function', 'function', 'function'])
  })

  it("an app's TypeScript type-checks against the installed declarations, which name only shipped files", async () => {
    const dts = packed.filter((f) => f.endsWith('.d.ts'))
    const naming: string[] = []
    for (const file of dts) {
      const text = await readFile(path.join(project, 'node_modules', 'evolvekit', file), 'utf8')
      for (const m of text.matchAll(/['"](\.{1,2}\/[^'"]+)['"]/g)) if (/\.tsx?$/.test(m[1]!)) naming.push(`${file}: ${m[1]}`)
    }
    assert.deepEqual(naming, [], 'a declaration imports a .ts file the package does not ship')
    await writeFile(
      path.join(project, 'typed.mts'),
      `import { openEvolve, defineMigration, isReadOnlyError, type RunProgress } from 'evolvekit'
import { createAdminApi } from 'evolvekit/http'
const m = defineMigration({ table: 'users', transform: (row: { email: string }) => ({ email: row.email.toLowerCase() }) })
const evolve = await openEvolve({ db: 'sqlite:./app.db' })
const runs: RunProgress[] = await evolve.status()
export { m, runs, isReadOnlyError, createAdminApi }
`,
    )
    await writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          // The app's own @types/node; the repo's stands in for it.
          typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['typed.mts'],
      }),
    )
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')
    await run(process.execPath, [tsc, '-p', '.'], project)
    // The older resolution (no `exports`): the declarations are found beside `main`'s .js file,
    // and evolvekit/http's through `typesVersions`.
    await writeFile(
      path.join(project, 'typed-cjs.ts'),
      `import { defineMigration, type RunProgress } from 'evolvekit'
import { createAdminApi } from 'evolvekit/http'
export const m = defineMigration({ table: 'users', transform: (row: { email: string }) => ({ email: row.email.toLowerCase() }) })
export type Runs = RunProgress[]
export const api = createAdminApi
`,
    )
    const node10 = {
      module: 'commonjs',
      moduleResolution: 'node10',
      target: 'es2022',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      esModuleInterop: true,
    }
    await writeFile(
      path.join(project, 'tsconfig.node10.json'),
      JSON.stringify({
        compilerOptions: { ...node10, typeRoots: [path.join(repoRoot, 'node_modules', '@types')], types: ['node'] },
        files: ['typed-cjs.ts'],
      }),
    )
    await run(process.execPath, [tsc, '-p', 'tsconfig.node10.json'], project)
  })

  it('npx evolve is the compiled command, needs no tsx, and prints the version (and the tracking schema it writes)', async () => {
    // tsx is a devDependency (the repo's launcher); the package loads user files with jiti.
    assert.equal(existsSync(path.join(project, 'node_modules', 'tsx')), false, 'tsx is not installed')
    assert.match(await realpath(path.join(project, 'node_modules', '.bin', 'evolve')), /\/node_modules\/evolvekit\/dist\/cli\/bin\.js$/)
    assert.match(
      (await run('npx', ['--no-install', 'evolve', '--version'], project)).trim(),
      new RegExp(`^${version.replaceAll('.', '\\.')} \\(tracking schema \\d+\\)$`),
    )
  })

  it('npx evolve run evolves a SQLite file with a TypeScript migration, a CommonJS .js one and a .cjs one', async () => {
    const file = path.join(project, 'app.db')
    const db = new Database(file)
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)')
    const insert = db.prepare('INSERT INTO users (id, email) VALUES (?, ?)')
    for (let id = 1; id <= 30; id++) insert.run(id, `User${id}@Example.COM`)
    db.close()
    const migrations = path.join(project, 'migrations')
    await mkdir(migrations)
    await writeFile(path.join(migrations, '_lower.ts'), 'export const lower = (s: string): string => s.toLowerCase()\n')
    await writeFile(path.join(migrations, '001_typescript.ts'), MIGRATION_TS)
    await writeFile(path.join(migrations, '002_commonjs.js'), MIGRATION_CJS('id > 10 and id <= 20'))
    await writeFile(path.join(migrations, '003_commonjs.cjs'), MIGRATION_CJS('id > 20'))

    await run('npx', ['--no-install', 'evolve', 'run', '--db', 'sqlite:app.db'], project)

    const status = JSON.parse(await run('npx', ['--no-install', 'evolve', 'status', '--json', '--db', 'sqlite:app.db'], project)) as {
      name: string
      state: string
      done: number
    }[]
    assert.deepEqual(
      status.map((s) => [s.name, s.state, s.done]),
      [
        ['001_typescript', 'done', 10],
        ['002_commonjs', 'done', 10],
        ['003_commonjs', 'done', 10],
      ],
    )
    const check = new Database(file, { readonly: true })
    try {
      const rows = check.prepare('SELECT id, email FROM users ORDER BY id').all() as { id: number; email: string }[]
      assert.deepEqual(
        rows.map((r) => r.email),
        rows.map((r) => `user${r.id}@example.com`),
      )
    } finally {
      check.close()
    }
  })

  it(
    'npx evolve ui opens its database thread from the installed package, shows the runs and quits (tmux)',
    { skip: hasTmux ? false : 'tmux is not installed' },
    async () => {
      const session = `evk-pack-ui-${process.pid}`
      try {
        startSession(
          session,
          project,
          `env NO_COLOR=1 npx --no-install evolve ui --db sqlite:app.db; echo UI-EXITED $?; sleep 600`,
          120,
          30,
        )
        const shown = await screen(session, (x) => x.includes('003_commonjs') || x.includes('UI-EXITED'), 'the runs')
        assert.match(shown, /001_typescript[\s\S]*002_commonjs[\s\S]*003_commonjs/, shown)
        tmux('send-keys', '-t', session, 'q')
        assert.match(await screen(session, (x) => x.includes('UI-EXITED'), 'the UI exiting'), /UI-EXITED 0/)
      } finally {
        spawnSync('tmux', ['kill-session', '-t', session])
      }
    },
  )
})
