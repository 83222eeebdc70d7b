// mayActAsOwner: whether the role running evolve may do what only a table's owner may (DROP
// TRIGGER, ALTER TABLE), which GRANT TRIGGER does not give. Real roles on real PostgreSQL.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import knex from 'knex'
import { mayActAsOwner } from '../lib/dialects/postgres/table-owner.ts'
import { withAppRole } from './helpers/tables.ts'

describe('whether a role may act as a table’s owner on postgres', () => {
  it('says yes for the owner, a member that inherits the owner’s privileges and a superuser; no for a role with only TRIGGER, naming the owner', () =>
    withAppRole(3, async (db, app, superuser) => {
      const asApp = knex({ client: 'pg', connection: app.url, pool: { min: 0, max: 1 } })
      try {
        await db.knex.raw('CREATE SCHEMA "Ledger Data"')
        await db.knex.raw('CREATE TABLE "Ledger Data".entries (id int PRIMARY KEY)')
        await db.knex.raw(`GRANT USAGE ON SCHEMA "Ledger Data" TO ${app.role}`)
        await db.knex.raw(`GRANT TRIGGER ON "Ledger Data".entries TO ${app.role}`)

        assert.deepEqual(await mayActAsOwner(asApp, 'items'), { ok: true, owner: app.role, role: app.role })
        assert.deepEqual(await mayActAsOwner(asApp, 'Ledger Data.entries'), { ok: false, owner: superuser, role: app.role })
        assert.deepEqual(await mayActAsOwner(db.knex, 'items'), { ok: true, owner: app.role, role: superuser }, 'a superuser may')
        assert.equal((await mayActAsOwner(asApp, 'no_such_table')).ok, false)

        // A member of the owner role inherits its privileges; one that must SET ROLE first does not.
        await db.knex.raw(`CREATE ROLE ${app.role}_owner`)
        await db.knex.raw(`ALTER TABLE "Ledger Data".entries OWNER TO ${app.role}_owner`)
        await db.knex.raw(`GRANT ${app.role}_owner TO ${app.role}`)
        assert.deepEqual(await mayActAsOwner(asApp, 'Ledger Data.entries'), { ok: true, owner: `${app.role}_owner`, role: app.role })
        await db.knex.raw(`REVOKE ${app.role}_owner FROM ${app.role}`)
        await db.knex.raw(`GRANT ${app.role}_owner TO ${app.role} WITH INHERIT FALSE, SET TRUE`)
        assert.equal((await mayActAsOwner(asApp, 'Ledger Data.entries')).ok, false)
      } finally {
        await asApp.destroy()
        await db.knex.raw(`DROP OWNED BY ${app.role}_owner`).catch(() => {})
        await db.knex.raw(`DROP ROLE IF EXISTS ${app.role}_owner`).catch(() => {})
      }
    }))
})
