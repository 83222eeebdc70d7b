import { createHash } from 'node:crypto'

/**
 * A hash of JavaScript or TypeScript source that only an edit of the code changes: line endings,
 * a byte-order mark, indentation, blank lines, runs of spaces and comments are left out (a
 * migration's run must not read as changed because an editor saved CRLF or a comment was fixed).
 * String, template and regular-expression literals are kept exactly.
 */
export function sourceHash(text: string): string {
  return createHash('sha256').update(canonicalSource(text)).digest('hex')
}

// After these characters a `/` starts a regular expression, not a division.
const BEFORE_REGEX = new Set('(,=:[!&|?{};+-*%<>~^'.split(''))
const KEYWORDS_BEFORE_REGEX = /(?:^|[^\w$])(?:return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/

/** The source with comments out and whitespace made canonical (see sourceHash). Exported for tests. */
export function canonicalSource(text: string): string {
  const src = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n')
  let out = ''
  // Whitespace (or a comment) seen since the last token: '\n' when it held a line break.
  let gap: '' | ' ' | '\n' = ''
  const emit = (token: string) => {
    if (gap === '\n' && out !== '') out += '\n'
    else if (gap === ' ' && out !== '') out += ' '
    gap = ''
    out += token
  }
  const space = (kind: ' ' | '\n') => {
    if (gap !== '\n') gap = kind
  }
  // The brace depth at which each template literal's open `${` was met.
  const templates: number[] = []
  let depth = 0
  let i = 0
  const n = src.length
  while (i < n) {
    const c = src[i]!
    const next = src[i + 1]
    if (c === '\n') {
      space('\n')
      i++
    } else if (c === ' ' || c === '\t' || c === '\f' || c === '\v') {
      space(' ')
      i++
    } else if (c === '/' && next === '/') {
      while (i < n && src[i] !== '\n') i++
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2)
      const stop = end < 0 ? n : end + 2
      space(src.slice(i, stop).includes('\n') ? '\n' : ' ')
      i = stop
    } else if (c === '"' || c === "'") {
      const start = i++
      while (i < n && src[i] !== c && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1
      emit(src.slice(start, ++i))
    } else if (c === '`' || (c === '}' && templates.length > 0 && templates.at(-1) === depth - 1)) {
      if (c === '}') {
        templates.pop()
        depth--
      }
      i = template(src, i, (chunk, opened) => {
        emit(chunk)
        if (opened) templates.push(depth++)
      })
    } else if (c === '/' && regexMayStart(out)) {
      const start = i++
      let inClass = false
      while (i < n && src[i] !== '\n' && (src[i] !== '/' || inClass)) {
        if (src[i] === '\\') i++
        else if (src[i] === '[') inClass = true
        else if (src[i] === ']') inClass = false
        i++
      }
      emit(src.slice(start, ++i))
    } else {
      if (c === '{') depth++
      else if (c === '}') depth--
      emit(c)
      i++
    }
  }
  return out
}

/**
 * Reads a template literal's text from `i` (at its opening backtick, or at the `}` closing one of
 * its `${…}`) to its end or its next `${`; hands it over with whether a `${` opened. Returns where
 * the code goes on.
 */
function template(src: string, i: number, take: (chunk: string, opened: boolean) => void): number {
  const start = i++
  while (i < src.length) {
    if (src[i] === '\\') i += 2
    else if (src[i] === '`') {
      take(src.slice(start, i + 1), false)
      return i + 1
    } else if (src[i] === '$' && src[i + 1] === '{') {
      take(src.slice(start, i + 2), true)
      return i + 2
    } else i++
  }
  take(src.slice(start), false)
  return src.length
}

function regexMayStart(out: string): boolean {
  const before = out.slice(-16).trimEnd()
  if (before === '') return true
  return BEFORE_REGEX.has(before.at(-1)!) || KEYWORDS_BEFORE_REGEX.test(before)
}
