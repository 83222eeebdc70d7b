import { defineMigration } from 'evolvekit'
import { recordEvolved } from '../app/audit.ts'

// Pattern: split a JSON blob into columns with `up`.
// Use `up` when evolving a row is more than one SQL expression per column: parsing, lookups,
// writes to several columns or tables. Everything goes through ctx.trx, so it commits with
// the batch's bookkeeping or not at all. App v1 keeps writing profile_json until v2 is
// deployed; the final sweeps pick those rows up.
export default defineMigration({
  description: 'Split users.profile_json into the city and country columns',
  table: 'users',
  pending: (q) => q.whereNull('city').whereNotNull('profile_json'),
  batchSize: 500,
  async up(rows, ctx) {
    const { trx } = ctx
    // One UPDATE per distinct (city, country) instead of one per row: few places, many users.
    const byPlace = new Map<string, number[]>()
    for (const row of rows) {
      const profile = JSON.parse(row.profile_json) as { city?: string; country?: string }
      const place = JSON.stringify([profile.city ?? '', profile.country ?? ''])
      byPlace.set(place, [...(byPlace.get(place) ?? []), row.id])
    }
    for (const [place, ids] of byPlace) {
      const [city, country] = JSON.parse(place) as [string, string]
      await trx('users').whereIn('id', ids).update({ city, country })
    }
    // The demo's audit trail, to prove no row is evolved twice; your own migrations need none.
    await recordEvolved(
      ctx,
      rows.map((r) => r.id),
    )
  },
})
