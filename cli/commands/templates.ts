export { configTemplate } from '../../lib/config/config-template.ts'

export function migrationTemplate(name: string): string {
  return `import { defineMigration } from 'evolvekit'

export default defineMigration({
  description: ${JSON.stringify(name)},
  table: 'users', // the table to evolve
  key: 'id', // a unique NOT NULL column, or several: ['tenant_id', 'id']
  // The rows that still need evolving; omit it to evolve every row once.
  pending: (q) => q.whereRaw('email <> lower(email)'),
  // What transform / up read besides the key (omit it: every column).
  columns: ['email'],
  // Exactly one of transform / set / up:
  transform: (row) => ({ email: row.email.toLowerCase() }),
  // set: { email: (k) => k.raw('lower(email)') },
  // async up(rows, ctx) { /* ctx.trx is the batch transaction */ },
  batchSize: 1000,
})
`
}
