// Finds the code examples in Markdown files and how each is to be tested (docs/doc-examples.md
// lists the markers an author writes).
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'

export type ExampleLang = 'ts' | 'js' | 'sh'

/**
 * - `run`: executed for real (TypeScript through tsx, sh through bash) in the page's project
 * - `file`: written into the page's project at `file`, for the page's later `run` blocks (and type-checked)
 * - `typecheck`: type-checked only (the default for ts/js)
 * - `cli`: its `evolve` commands and flags must exist (the default for sh)
 * - `skip`: not tested; `reason` says why
 */
export type ExampleMode = 'run' | 'file' | 'typecheck' | 'cli' | 'skip'

export interface Example {
  /** The Markdown file, relative to the repo. */
  doc: string
  /** 1-based line of the first line of code (after the opening fence). */
  line: number
  lang: ExampleLang
  mode: ExampleMode
  code: string
  file?: string
  reason?: string
}

const LANGS: Record<string, ExampleLang> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js', sh: 'sh', bash: 'sh', shell: 'sh' }
const MARKER = /^<!--\s*example:\s*(\S+)(.*?)-->\s*$/
const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/

/** README.md and docs/*.md, the pages whose examples must keep working. */
export function docFiles(root: string): string[] {
  const docs = readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`)
  return ['README.md', ...docs]
}

/** Every fenced ts/js/sh block of one Markdown file, with its marker applied; a bad marker throws. */
export function extractExamples(root: string, doc: string): Example[] {
  const lines = readFileSync(path.join(root, doc), 'utf8').split('\n')
  const examples: Example[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!)
    if (!open) continue
    const fence = open[1]!
    let end = i + 1
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence)) end++
    const lang = LANGS[open[2]!.toLowerCase()]
    const marker = markerBefore(lines, i)
    if (lang) examples.push(classify(doc, i + 2, lang, lines.slice(i + 1, end).join('\n'), marker))
    else if (marker) throw new Error(`${doc}:${i + 1}: an example marker on a \`${open[2] || 'plain'}\` block, which is never tested`)
    i = end
  }
  return examples
}

/** The marker comment on the nearest non-blank line above a fence, if any. */
function markerBefore(lines: string[], fenceIndex: number): { kind: string; rest: string } | undefined {
  let j = fenceIndex - 1
  while (j >= 0 && lines[j]!.trim() === '') j--
  const m = j >= 0 ? MARKER.exec(lines[j]!.trim()) : null
  return m ? { kind: m[1]!, rest: m[2]!.trim() } : undefined
}

function classify(doc: string, line: number, lang: ExampleLang, code: string, marker?: { kind: string; rest: string }): Example {
  const where = `${doc}:${line - 1}`
  const base = { doc, line, lang, code }
  if (!marker) return { ...base, mode: lang === 'sh' ? 'cli' : 'typecheck' }
  switch (marker.kind) {
    case 'run':
    case 'typecheck':
    case 'cli':
      if (marker.kind === 'typecheck' && lang === 'sh') throw new Error(`${where}: sh blocks cannot be type-checked; use run, cli or skip`)
      if (marker.kind === 'cli' && lang !== 'sh') throw new Error(`${where}: "cli" is for sh blocks; use run, typecheck or skip`)
      return { ...base, mode: marker.kind }
    case 'file': {
      if (lang === 'sh' || !marker.rest) throw new Error(`${where}: write <!-- example: file <relative path> --> above a ts or js block`)
      return { ...base, mode: 'file', file: marker.rest }
    }
    case 'skip': {
      const reason = marker.rest.replace(/^\((.*)\)$/, '$1').trim()
      if (!reason) throw new Error(`${where}: a skipped example needs a reason: <!-- example: skip (why) -->`)
      return { ...base, mode: 'skip', reason }
    }
    default:
      throw new Error(`${where}: unknown example marker "${marker.kind}" (run, file, typecheck, cli, skip)`)
  }
}

/**
 * The `evolve` invocations of an sh block: one token list per command after `evolve` (or
 * `npx evolve`, `node_modules/.bin/evolve`), for the CLI check. Comments, pipes, `&&` and `;` separate commands.
 */
export function evolveCommands(code: string): string[][] {
  const commands: string[][] = []
  for (const raw of code.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '')
    for (const part of line.split(/&&|\|\|?|;|&/)) {
      const words = (part.match(/'[^']*'|"[^"]*"|\S+/g) ?? []).filter((w) => !/^\w+=/.test(w))
      const start = words[0] === 'npx' ? 1 : 0
      if (words[start] === 'evolve' || words[start]?.endsWith('node_modules/.bin/evolve')) commands.push(words.slice(start + 1))
    }
  }
  return commands
}
