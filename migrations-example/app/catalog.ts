/** What the search catalog holds for a document: shared by app v2 and the catalog migration. */
export interface CatalogEntry {
  document_id: number
  title: string
  terms: string
}

/** The words a search matches: the title's and the start of the body's, lower-cased, once each. */
export function catalogEntry(doc: { id: number; title: string; body: string }): CatalogEntry {
  const words = `${doc.title} ${doc.body.slice(0, 200)}`.toLowerCase().match(/[a-z0-9]+/g) ?? []
  return { document_id: doc.id, title: doc.title, terms: [...new Set(words)].join(' ') }
}

/** The canonical statuses v2 writes, and how v1's free-form values map onto them. */
export const STATUSES = ['draft', 'published', 'archived'] as const

const ALIASES: Record<string, (typeof STATUSES)[number]> = { live: 'published', public: 'published', wip: 'draft', old: 'archived' }

export function canonicalStatus(value: string): (typeof STATUSES)[number] {
  const v = value.trim().toLowerCase()
  return (STATUSES as readonly string[]).includes(v) ? (v as (typeof STATUSES)[number]) : (ALIASES[v] ?? 'draft')
}
