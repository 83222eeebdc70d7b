import { defineMigration } from 'evolvekit'

// Pattern: backfill a new column with `set`.
// Use `set` when the new value is a SQL expression over the row itself: one UPDATE per
// batch, the rows never leave the database, the fastest mode. `pending` makes it resumable
// and lets the sweep catch rows v1 inserted without a display name.
export default defineMigration({
  description: 'Backfill users.display_name from first and last name',
  table: 'users',
  pending: (q) => q.whereNull('display_name'),
  set: { display_name: (k) => k.raw("first_name || ' ' || last_name") },
  batchSize: 2000,
})
