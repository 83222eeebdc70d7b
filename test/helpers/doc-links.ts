// Relative links between README.md and docs/*.md: every `](path)`, `](path#anchor)` and
// `](#anchor)` must name a file that exists and, for an anchor, a heading of that page.
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

/** The lines of a Markdown page outside fenced code blocks (links and headings in code do not count). */
function proseLines(text: string): string[] {
  const lines: string[] = []
  let fence: string | null = null
  for (const line of text.split('\n')) {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line)
    if (fence) {
      if (open && line.trim().startsWith(fence)) fence = null
    } else if (open) fence = open[1]!
    else lines.push(line)
  }
  return lines
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces as hyphens; repeats get -1, -2… */
export function headingIds(text: string): Set<string> {
  const ids = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!heading) continue
    const base = heading[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    ids.add(n === 0 ? base : `${base}-${n}`)
  }
  return ids
}

/** Every relative link of `doc` (relative to `root`) whose target file or anchor is missing. */
export function brokenLinks(root: string, doc: string): string[] {
  const text = readFileSync(path.join(root, doc), 'utf8')
  const broken: string[] = []
  for (const line of proseLines(text)) {
    // Inline code may show link syntax; it is not a link.
    for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z+.-]*:/i.test(target!)) continue // http:, https:, mailto:
      const [file, anchor] = target!.split('#') as [string, string | undefined]
      const resolved = file === '' ? path.join(root, doc) : path.join(root, path.dirname(doc), file)
      if (!existsSync(resolved)) broken.push(`${doc}: ${target}: no such file`)
      else if (anchor !== undefined && resolved.endsWith('.md') && !headingIds(readFileSync(resolved, 'utf8')).has(anchor))
        broken.push(`${doc}: ${target}: no heading #${anchor} in ${path.relative(root, resolved)}`)
    }
  }
  return broken
}
