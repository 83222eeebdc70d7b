/** `1 row`, `2 rows`, `0 rows`: a count and its noun, for messages people read. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
