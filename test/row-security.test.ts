// Row-level security that hides rows from the role evolvekit connects as: a run would evolve only
// the rows its policies show and report done, and a snapshot's copy would lack the others, so the
// swap would drop them from the table. Refused at validation, before anything changes.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import knexFactory from 'knex'
import { parseMigration } from '../lib/config/migration-schema.ts'
import { Runner, defineMigration } from '../lib/index.ts'
import { assertRefused } from './helpers/cli.ts'
import { freshPostgres } from './helpers/databases.ts'

const ROWS = 30

describe('row-level security on postgres', () => {
  for (const mode of ['online', 'snapshot'] as const) {
    it(`refuses a ${mode} migration of a table whose policies hide rows from the connected role (its owner, FORCE ROW LEVEL SECURITY), changing nothing`, async () => {
      const db = await freshPostgres()
      const role = `evk_rls_${randomBytes(4).toString('hex')}`
      const url = new URL(db.url)
      Object.assign(url, { username: role, password: 'evk-rls-password' })
      const asRole = knexFactory({ client: 'pg', connection: url.href, pool: { min: 0, max: 4 } })
      try {
        await db.knex.raw(`CREATE ROLE ${role} LOGIN PASSWORD 'evk-rls-password'`)
        await db.knex.raw(`GRANT CREATE ON SCHEMA public TO ${role}`)
        await db.knex.raw(`CREATE TABLE docs (id integer PRIMARY KEY, title text NOT NULL, tenant integer NOT NULL)`)
        await db.knex.raw(`INSERT INTO docs SELECT g, 'Title ' || g, g % 3 FROM generate_series(1, ${ROWS}) AS g`)
        await db.knex.raw(`ALTER TABLE docs OWNER TO ${role}`)
        await db.knex.raw(`ALTER TABLE docs ENABLE ROW LEVEL SECURITY`)
        await db.knex.raw(`ALTER TABLE docs FORCE ROW LEVEL SECURITY`)
        await db.knex.raw(`CREATE POLICY one_tenant ON docs USING (tenant = 1)`)
        const migration = parseMigration('lower_titles', 'test:lower_titles', {
          ...defineMigration({ table: 'docs', set: { title: (k) => k.raw('lower(title)') } }),
          ...(mode === 'snapshot' ? { mode } : {}),
        })

        await assertRefused(
          new Runner({ knex: asRole, migrations: [migration] }).run(),
          'E_MIGRATION_INVALID',
          new RegExp(`row-level security of "docs" hides rows from role "${role}" \\(field "table"\\): .*BYPASSRLS`),
        )
        const titles = await db.knex('docs').pluck('title')
        assert.equal(titles.filter((t) => t.startsWith('Title ')).length, ROWS, 'no row changed')
        const tables = await db.knex.raw(
          `SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE 'evolve\\_%' OR tablename LIKE 'docs\\_\\_%'`,
        )
        assert.equal(tables.rows[0].n, 0, 'no tracking table, no copy')

        // The superuser sees every row (it bypasses the policies): the same migration runs.
        const [result] = await new Runner({ knex: db.knex, migrations: [migration] }).run()
        assert.equal(result?.state, 'done')
        assert.equal((await db.knex('docs').whereRaw('title <> lower(title)').count({ n: '*' }))[0]!.n, '0')
        assert.equal(Number((await db.knex('docs').count({ n: '*' }))[0]!.n), ROWS)
      } finally {
        await asRole.destroy()
        await db.knex.raw(`DROP OWNED BY ${role}`).catch(() => {})
        await db.knex.raw(`DROP ROLE IF EXISTS ${role}`).catch(() => {})
        await db.drop()
      }
    })
  }
})
