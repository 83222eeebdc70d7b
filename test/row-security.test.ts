// Row-level security that hides rows from the role evolvekit connects as: a run would evolve only
// the rows its policies show and report done, and a snapshot's copy would lack the others, so the
// swap would drop them from the table. Refused at validation, before anything changes. A policy
// refusing one row's write elsewhere (42501 inside a batch) is that row's: it is isolated.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import knexFactory from 'knex'
import { parseMigration } from '../lib/config/migration-schema.ts'
import { Runner, defineMigration } from '../lib/index.ts'
import { assertRefused, output, runCli } from './helpers/cli.ts'
import { freshPostgres } from './helpers/databases.ts'
import { failureRows, withAppRole, writeFiles } from './helpers/fixtures.ts'

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

  it("isolates the rows a policy refuses to write in another table (42501 inside a batch is then a row's) and evolves the rest", () =>
    withAppRole(200, async (db, app) => {
      // The role may insert into audit, but its policy refuses the rows of tenant 3: one row in 50.
      await db.knex.raw('CREATE TABLE audit (item_id integer NOT NULL, tenant integer NOT NULL)')
      await db.knex.raw(`GRANT INSERT ON audit TO ${app.role}`)
      await db.knex.raw('ALTER TABLE audit ENABLE ROW LEVEL SECURITY')
      await db.knex.raw('CREATE POLICY no_tenant_3 ON audit FOR INSERT WITH CHECK (tenant <> 3)')
      const dir = await writeFiles({
        '001_audit.ts': `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  batchSize: 50,
  async up(rows, ctx) {
    await ctx.trx('audit').insert(rows.map((r) => ({ item_id: r.id, tenant: r.id % 50 === 7 ? 3 : 1 })))
    await ctx.trx('items').whereIn('id', rows.map((r) => r.id)).update({ counter: 1 })
  },
})
`,
      })
      const result = await runCli(['run', '--db', app.url, '--dir', dir])
      assert.equal(result.code, 1, output(result))
      const failed = await failureRows(db.knex, '001_audit')
      assert.deepEqual(
        failed.map((f) => Number(f.key)),
        [7, 57, 107, 157],
      )
      assert.ok(
        failed.every((f) => f.error.includes('row-level security policy')),
        failed.map((f) => f.error).join('; '),
      )
      assert.equal(Number((await db.knex('items').where({ counter: 1 }).count({ n: '*' }).first())?.n), 196)
    }))
})
