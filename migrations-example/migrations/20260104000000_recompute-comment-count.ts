import { defineMigration } from 'evolvekit'
import { recordEvolved } from '../app/audit.ts'

// Pattern: recompute a denormalised counter from another table, every row once.
// No `pending`: every document is recounted once and the tracking table remembers which key
// ranges are done. Run it after deploying the app version that maintains the counter, so
// rows recounted stay right. It is `up`, not a `set` with a correlated subquery, on purpose:
// the toolkit has locked the batch's documents before `up` runs, so a comment the app adds
// meanwhile is either counted here or incremented by the app after this batch commits —
// never lost between the two.
export default defineMigration({
  description: 'Recompute documents.comment_count from the comments table',
  table: 'documents',
  batchSize: 1000,
  async up(rows, ctx) {
    const { trx } = ctx
    const ids = rows.map((r) => r.id as number)
    const counted = (await trx('comments').whereIn('document_id', ids).select('document_id').count({ n: '*' }).groupBy('document_id')) as {
      document_id: number
      n: number | string
    }[]
    const count = new Map(counted.map((c) => [Number(c.document_id), Number(c.n)]))
    // Documents that share a count are written by one UPDATE.
    const byCount = new Map<number, number[]>()
    for (const row of rows) {
      const n = count.get(row.id) ?? 0
      if (row.comment_count !== n) byCount.set(n, [...(byCount.get(n) ?? []), row.id])
    }
    for (const [n, docIds] of byCount) await trx('documents').whereIn('id', docIds).update({ comment_count: n })
    // The demo's audit trail, to prove no row is evolved twice; your own migrations need none.
    await recordEvolved(ctx, ids)
  },
})
