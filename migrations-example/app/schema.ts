import type { Knex } from 'knex'

/** The example app's table: users as the old code wrote them. */
export async function createSchema(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id').primary()
    t.string('email').notNullable()
    t.string('first_name').notNullable()
    t.string('last_name').notNullable()
    t.string('display_name') // new column: backfilled by a migration
    t.text('address_json') // old shape: a JSON blob
    t.string('city') // new shape: split out of address_json
    t.string('country')
  })
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken']
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson']
const CITIES = [
  ['Paris', 'FR'],
  ['Lyon', 'FR'],
  ['Berlin', 'DE'],
  ['Oslo', 'NO'],
  ['Lima', 'PE'],
]

/** A user row in the old shape: mixed-case e-mail, no display name, address as JSON. */
export function oldShapeUser(i: number) {
  const first = FIRST[i % FIRST.length]!
  const last = LAST[(i * 7) % LAST.length]!
  const [city, country] = CITIES[i % CITIES.length]!
  return {
    email: `${first}.${last}${i}@Example.COM`,
    first_name: first,
    last_name: last,
    address_json: JSON.stringify({ street: `${i} Main St`, city, country }),
  }
}

export async function seedUsers(knex: Knex, count: number): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => oldShapeUser(i))
  await knex.batchInsert('users', rows, 500)
}
