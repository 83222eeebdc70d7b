import type { Knex } from 'knex'

/** The URL-safe form of a title: 'Notes on parking #57' → 'notes-on-parking-57'. */
export function slugify(title: string): string {
  return (
    title
      .toLowerCase()
      .match(/[a-z0-9]+/g)
      ?.join('-') ?? 'document'
  )
}

/**
 * Gives each title a slug no document holds yet: the title's own slug, else `-2`, `-3`…
 * Shared by app v2 (a new document) and the slug migration (every old one), so both hand
 * out names from one namespace the same way. Reads the taken slugs through `trx`, one query
 * per round of collisions; the unique index on documents.slug has the last word.
 */
export async function freeSlugs(trx: Knex | Knex.Transaction, titles: string[]): Promise<string[]> {
  const slugs: string[] = []
  const taken = new Set<string>()
  let wanted = titles.map((title, i) => ({ i, base: slugify(title), n: 1 }))
  const candidate = (w: { base: string; n: number }) => (w.n === 1 ? w.base : `${w.base}-${w.n}`)
  while (wanted.length > 0) {
    const fromDb = await trx('documents')
      .whereIn('slug', [...new Set(wanted.map(candidate))])
      .pluck('slug')
    for (const slug of fromDb as string[]) taken.add(slug)
    const retry: typeof wanted = []
    for (const w of wanted) {
      const slug = candidate(w)
      if (taken.has(slug)) retry.push({ ...w, n: w.n + 1 })
      else {
        taken.add(slug)
        slugs[w.i] = slug
      }
    }
    wanted = retry
  }
  return slugs
}
