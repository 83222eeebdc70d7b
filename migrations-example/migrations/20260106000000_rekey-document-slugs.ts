import { defineMigration } from 'evolvekit'
import { recordEvolved } from '../app/audit.ts'
import { freeSlugs } from '../app/slugs.ts'

// Pattern: `mode: 'readonly'` — a change that cannot run against rows still being written.
// Every document gets a permanent URL slug from its title, '-2', '-3'… when the slug is taken.
// A slug depends on the other documents, not on the row alone: while this hands out names, a
// document the app creates (app v2 hands out slugs the same way) could take the very slug a
// batch is about to give another one, and `pending` cannot notice. Neither re-reading under
// lock nor a sweep helps when the answer depends on rows outside the batch.
// Use `mode: 'readonly'` for such changes — renumbering, re-keying, anything that hands out
// names or numbers from one namespace, or a move where edits made meanwhile would be lost:
// the runner turns read-only on for the table when the run starts (the app's writes are
// refused by the database with a message it can show), its own batches write through, and it
// turns read-only off when the run is done. Reads go on throughout. Keep such runs short.
export default defineMigration({
  description: 'Give every document a unique URL slug made from its title',
  table: 'documents',
  mode: 'readonly',
  // What the app's users read while their edits are refused (the 503 and the banner).
  readOnlyMessage: 'Maintenance: documents get their permanent addresses; editing is paused for a minute.',
  columns: ['title'],
  pending: (q) => q.whereNull('slug'),
  batchSize: 1000,
  async up(rows, ctx) {
    const { trx } = ctx
    const slugs = await freeSlugs(
      trx,
      rows.map((r) => r.title as string),
    )
    // One UPDATE per row, as each slug differs: simple, and the batch's rows are locked anyway.
    for (const [i, row] of rows.entries()) await trx('documents').where({ id: row.id }).update({ slug: slugs[i] })
    // The demo's audit trail, to prove no row is evolved twice; your own migrations need none.
    await recordEvolved(
      ctx,
      rows.map((r) => r.id),
    )
  },
})
