import { defineMigration } from 'evolvekit'
import { recordEvolved } from '../app/audit.ts'
import { catalogEntry } from '../app/catalog.ts'

// Pattern: build a derived catalog entry in another table.
// Use `up` with a `pending` that looks at the other table (here: documents with no catalog
// entry yet) when the evolved data lives elsewhere. The entry is computed by the same
// function app v2 uses when it writes a document, so old and new entries agree.
export default defineMigration({
  description: 'Build the search catalog entry of every document that has none',
  table: 'documents',
  pending: (q) => q.whereNotExists((sub) => sub.select(1).from('search_entries').whereRaw('search_entries.document_id = documents.id')),
  batchSize: 500,
  async up(rows, ctx) {
    const { trx } = ctx
    const entries = rows.map((row) => catalogEntry(row as { id: number; title: string; body: string }))
    for (let i = 0; i < entries.length; i += 200) {
      await trx('search_entries')
        .insert(entries.slice(i, i + 200))
        .onConflict('document_id')
        .merge()
    }
    // The demo's audit trail, to prove no row is evolved twice; your own migrations need none.
    await recordEvolved(
      ctx,
      rows.map((r) => r.id),
    )
  },
})
