import type { Knex } from 'knex'
import { STATUSES, catalogEntry } from '../app/catalog.ts'
import { unnormalisedBody } from '../app/text.ts'

/**
 * Rows not in the new shape after every migration is done and v2 serves: each must be 0.
 * These read the data itself, not evolvekit's bookkeeping.
 */
export async function outOfShape(knex: Knex): Promise<Record<string, number>> {
  const count = async (q: Knex.QueryBuilder) => Number((await q.count({ n: '*' }).first())?.n ?? 0)
  const docs = (await knex('documents')
    .leftJoin('search_entries', 'search_entries.document_id', 'documents.id')
    .select('documents.id', 'documents.title', 'documents.body', 'search_entries.title as entry_title', 'search_entries.terms')) as {
    id: number
    title: string
    body: string
    entry_title: string | null
    terms: string | null
  }[]
  const staleCatalog = docs.filter((d) => {
    const want = catalogEntry(d)
    return d.entry_title !== want.title || d.terms !== want.terms
  }).length
  const wrongCounts = knex('documents').whereRaw(
    'comment_count <> (select count(*) from comments where comments.document_id = documents.id)',
  )
  return {
    'users without city': await count(knex('users').whereNull('city')),
    'users without display_name': await count(knex('users').whereNull('display_name')),
    'documents with a non-canonical status': await count(knex('documents').whereNotIn('status', [...STATUSES])),
    'documents whose comment_count is wrong': await count(wrongCounts),
    'documents whose catalog entry is missing or stale': staleCatalog,
    'comments whose body is not normalised': await count(unnormalisedBody(knex('comments'))),
    'documents without a slug': await count(knex('documents').whereNull('slug')),
  }
}
