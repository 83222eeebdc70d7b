import { defineMigration } from 'evolvekit'

// up mode: free-form work inside the batch transaction.
export default defineMigration({
  description: 'Split address_json into city and country columns',
  table: 'users',
  pending: (q) => q.whereNull('city').whereNotNull('address_json'),
  async up(rows, { trx }) {
    for (const row of rows) {
      const address = JSON.parse(row.address_json)
      await trx('users').where({ id: row.id }).update({ city: address.city, country: address.country })
    }
  },
  batchSize: 500,
})
