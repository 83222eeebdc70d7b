import type { Knex } from 'knex'

/**
 * A comment body as app v2 stores it: Unix line breaks, no tabs, no runs of spaces, no blanks
 * around lines or the whole. App v1 stored the textarea's text as the browser sent it.
 */
export function normaliseBody(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').trim())
    .join('\n')
    .trim()
}

/**
 * The bodies `normaliseBody` would change, as SQL (the same on PostgreSQL and SQLite): what the
 * comment migration's `pending` selects and what the demo's checks count.
 */
export function unnormalisedBody(q: Knex.QueryBuilder, column = 'body'): Knex.QueryBuilder {
  const signs = ['%\r%', '%\t%', '%  %', ' %', '% ', '\n%', '%\n', '% \n%', '%\n %']
  return q.where((w) => {
    for (const sign of signs) w.orWhere(column, 'like', sign)
  })
}
