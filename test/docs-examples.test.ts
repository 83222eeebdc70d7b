// The code examples of README.md and docs/*.md are tested, so they cannot rot. Each fenced
// ts/js/sh block is run, written as a file for the blocks that run after it, type-checked,
// CLI-checked or skipped, as its marker says (see test/helpers/doc-examples.ts).
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { cliPath, repoRoot } from './helpers/cli.ts'
import { type Example, docFiles, evolveCommands, extractExamples } from './helpers/doc-examples.ts'
import { brokenLinks } from './helpers/doc-links.ts'
import { SH_PRELUDE, ambientPrelude, exec, runnableProject, scratchProject } from './helpers/doc-project.ts'

const problems: string[] = []
const examples: Example[] = docFiles(repoRoot).flatMap((doc) => {
  try {
    return extractExamples(repoRoot, doc)
  } catch (error) {
    problems.push((error as Error).message)
    return []
  }
})
const slug = (doc: string) => doc.replace(/\W+/g, '-')
const fileOf = (e: Example) => path.join(slug(e.doc), e.mode === 'file' ? e.file! : `example-${e.line}.${e.lang}`)
const where = (e: Example, offset = 0) => `${e.doc}:${e.line + offset}`
const TIMEOUT_MS = 120_000

async function execOrExplain(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, what: string): Promise<string> {
  try {
    const { stdout } = await exec(file, args, { cwd, env, timeout: TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20 })
    return stdout
  } catch (error) {
    const e = error as { code?: number; killed?: boolean; stdout?: string; stderr?: string }
    const why = e.killed ? `did not end within ${TIMEOUT_MS / 1000} s (does it close what it opens?)` : `exited with ${e.code}`
    throw new Error(`${what} ${why}\n--- stdout\n${e.stdout}\n--- stderr\n${e.stderr}`)
  }
}

describe('The code examples of README.md and docs/', () => {
  it('every example block carries a known marker, and a skipped one says why', () => {
    assert.deepEqual(problems, [])
    assert.ok(examples.length > 0, 'no examples found')
  })

  it('every relative link between README.md and docs/ names a file that exists, and an anchor a heading of it', () => {
    assert.deepEqual(
      docFiles(repoRoot).flatMap((doc) => brokenLinks(repoRoot, doc)),
      [],
    )
  })

  it('every TypeScript and JavaScript example type-checks against the library as it is', async () => {
    const checked = examples.filter((e) => e.lang !== 'sh' && e.mode !== 'skip')
    const dir = await scratchProject('evk-docs-tsc-', {
      extends: path.join(repoRoot, 'tsconfig.json'),
      // No DOM: its globals (`name`, `close`…) would collide with the snippets' stand-ins.
      compilerOptions: { lib: ['ES2022'], noEmit: true },
      include: ['**/*'],
    })
    await writeFile(path.join(dir, 'prelude.d.ts'), await ambientPrelude())
    const byFile = new Map<string, Example>()
    for (const e of checked) {
      const file = fileOf(e)
      byFile.set(file, e)
      await mkdir(path.join(dir, path.dirname(file)), { recursive: true })
      // `export {}` makes every block a module (top-level await, its own scope); added last, so line numbers hold.
      await writeFile(path.join(dir, file), e.lang === 'ts' ? `${e.code}\nexport {}\n` : e.code)
    }
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')
    const result = await exec(process.execPath, [tsc, '--noEmit', '-p', dir], { cwd: dir, maxBuffer: 16 << 20 }).catch((e) => e)
    const out = `${result.stdout ?? ''}${result.stderr ?? ''}`
    // file(line,col): error …  →  docs/page.md:line: error …
    const located = out.replace(/^(\S+?)\((\d+),(\d+)\)/gm, (all, file: string, line: string) => {
      const e = byFile.get(path.normalize(file))
      return e ? `${where(e, Number(line) - 1)} (${e.mode} example)` : all
    })
    assert.equal(located.trim(), '', `examples that do not type-check:\n${located}`)
  })

  it('every evolve command in an sh example names a real command and real flags', async () => {
    const commands = examples.filter((e) => e.lang === 'sh' && (e.mode === 'cli' || e.mode === 'run'))
    const help = new Map<string, Promise<string>>()
    // `path`: the command words, e.g. [] for evolve itself, ['readonly', 'on'] for a subcommand.
    const helpOf = (path: string[]) => {
      const key = path.join(' ')
      if (!help.has(key))
        help.set(
          key,
          exec(process.execPath, [cliPath, ...path, '--help']).then((r) => r.stdout),
        )
      return help.get(key)!
    }
    const commandsOf = (text: string) =>
      new Set(
        text.includes('Commands:') ? [...text.slice(text.indexOf('Commands:')).matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!) : [],
      )
    const global = await helpOf([])
    const verbs = commandsOf(global)
    const wrong: string[] = []
    for (const e of commands) {
      for (const words of evolveCommands(e.code)) {
        const args = [...words]
        while (args[0]?.startsWith('-') && ['--db', '--config', '--dir'].includes(args[0])) args.splice(0, 2)
        const verb = args[0] && !args[0].startsWith('-') ? args[0] : ''
        if (verb && !verbs.has(verb)) {
          wrong.push(`${e.doc}: \`evolve ${words.join(' ')}\`: no command "${verb}" (the CLI has: ${[...verbs].join(', ')})`)
          continue
        }
        let known = global + (verb ? await helpOf([verb]) : '')
        // A command with subcommands (`evolve readonly on`): its flags are the subcommand's.
        if (verb && args[1] && commandsOf(await helpOf([verb])).has(args[1])) known += await helpOf([verb, args[1]])
        for (const flag of words.filter((w) => w.startsWith('--')).map((w) => w.split('=')[0]!)) {
          if (!known.includes(flag)) wrong.push(`${e.doc}: \`evolve ${words.join(' ')}\`: ${verb || 'evolve'} has no flag ${flag}`)
        }
      }
    }
    assert.deepEqual(wrong, [])
  })

  const runnable = [...new Set(examples.filter((e) => e.mode === 'run').map((e) => e.doc))]
  for (const doc of runnable) {
    it(`the runnable examples of ${doc} run, in order, in a fresh project with a seeded SQLite file`, async () => {
      const { dir, env } = await runnableProject()
      for (const e of examples.filter((x) => x.doc === doc && (x.mode === 'run' || x.mode === 'file'))) {
        if (e.mode === 'file') {
          await mkdir(path.join(dir, path.dirname(e.file!)), { recursive: true })
          await writeFile(path.join(dir, e.file!), e.code)
        } else if (e.lang === 'sh') {
          await execOrExplain('bash', ['-eo', 'pipefail', '-c', SH_PRELUDE + e.code], dir, env, `${where(e)} (sh)`)
        } else {
          const file = `example-${e.line}.${e.lang === 'ts' ? 'ts' : 'mjs'}`
          await writeFile(path.join(dir, file), e.code)
          const harness = path.join(repoRoot, 'test', 'helpers', 'run-doc-example.ts')
          await execOrExplain(process.execPath, ['--import', 'tsx', harness, file], dir, env, `${where(e)} (${e.lang})`)
        }
      }
    })
  }
})
