export { configTemplate } from '../../lib/config/config-template.ts'

export function migrationTemplate(name: string): string {
  // Nothing here may run as it is: a template that worked would change someone's real table.
  // Every TODO names a table or column no database has, so plan and run refuse the file until
  // it is filled in; the commented lines show one way to fill it.
  return `import { defineMigration } from 'evolvekit'

export default defineMigration({
  description: ${JSON.stringify(name)},
  table: 'TODO', // the table to evolve
  key: 'id', // a unique NOT NULL column, or several: ['tenant_id', 'id']
  // The rows that still need evolving; omit it to evolve every row once.
  pending: (q) => q.whereNull('TODO'), // e.g. q.whereRaw('email <> lower(email)')
  // What transform / up read besides the key (omit it: every column).
  columns: ['TODO'], // e.g. ['email']
  // Exactly one of transform / set / up:
  transform: (row) => ({ TODO: row.TODO }), // e.g. ({ email: row.email.toLowerCase() })
  // set: { email: (k) => k.raw('lower(email)') },
  // async up(rows, ctx) { /* ctx.trx is the batch transaction */ },
  batchSize: 1000,
})
`
}
