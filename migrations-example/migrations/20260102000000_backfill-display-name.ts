import { defineMigration } from 'evolvekit'

// set mode: one UPDATE per batch, the rows never leave the database.
export default defineMigration({
  description: 'Backfill display_name from first and last name',
  table: 'users',
  pending: (q) => q.whereNull('display_name'),
  set: { display_name: (k) => k.raw("first_name || ' ' || last_name") },
  batchSize: 2000,
})
