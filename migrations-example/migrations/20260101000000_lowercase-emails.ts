import { defineMigration } from 'evolvekit'

// transform mode: rows are read in batches, changed in JavaScript, written back set-based.
export default defineMigration({
  description: 'Lower-case every e-mail address',
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)'),
  transform: (row) => ({ email: row.email.toLowerCase() }),
})
