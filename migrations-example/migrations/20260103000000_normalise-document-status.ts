import { defineMigration } from 'evolvekit'
import { STATUSES, canonicalStatus } from '../app/catalog.ts'

// Pattern: normalise values with `pending` + `transform`.
// Use `transform` when the new value needs JavaScript (a lookup table, string rules) but only
// touches the row's own columns: the toolkit reads the batch, calls transform per row and
// writes the changes back in one set-based statement. `pending` selects exactly the rows
// that are not canonical yet, so re-running it finds nothing to do.
export default defineMigration({
  description: "Normalise documents.status to 'draft' | 'published' | 'archived'",
  table: 'documents',
  pending: (q) => q.whereNotIn('status', [...STATUSES]),
  transform: (row) => ({ status: canonicalStatus(row.status) }),
  batchSize: 1000,
})
