// What a PostgreSQL table carries besides its rows, through the swap and the revert: the
// enabled state of each trigger, the name of an identity key's sequence, and (below) the
// table's own properties.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { openEvolve } from '../lib/index.ts'
import { runnerKnex, withDb, type FreshDatabase } from './helpers/databases.ts'
import { migrationSource, writeFiles } from './helpers/fixtures.ts'

const NAME = '001_shout'
const ROWS = 50

/** customers: an identity key and a name, upper-cased by the migration. */
async function createCustomers(db: FreshDatabase): Promise<void> {
  await db.knex.raw('CREATE TABLE customers (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL)')
  await db.knex.raw(`INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, ${ROWS}) g`)
}

/** Opens the admin object on the migration; `fn` drives it. */
async function withShout(db: FreshDatabase, fn: (evolve: Awaited<ReturnType<typeof openEvolve>>) => Promise<void>): Promise<void> {
  const dir = await writeFiles({
    [`${NAME}.ts`]: migrationSource(`{ mode: 'snapshot', table: 'customers', set: { name: (k) => k.raw('upper(name)') } }`),
  })
  const knex = runnerKnex(db)
  const evolve = await openEvolve({ knex, migrations: dir })
  try {
    await fn(evolve)
  } finally {
    await evolve.close()
    await knex.destroy()
  }
}

async function runToDone(evolve: Awaited<ReturnType<typeof openEvolve>>): Promise<void> {
  const [result] = await (await evolve.run()).done
  assert.equal(result?.state, 'done', JSON.stringify(result))
}

const one = async (db: FreshDatabase, sql: string): Promise<Record<string, unknown>> => (await db.knex.raw(sql)).rows[0]

describe('snapshot mode on PostgreSQL carries a table’s settings', () => {
  it('each trigger keeps its enabled state (disabled, enabled, replica, always) through the swap and the revert', () =>
    withDb('postgres', async (db) => {
      await createCustomers(db)
      await db.knex.raw('CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$')
      for (const t of ['t_disabled', 't_origin', 't_replica', 't_always'])
        await db.knex.raw(`CREATE TRIGGER ${t} BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION noop()`)
      await db.knex.raw('ALTER TABLE customers DISABLE TRIGGER t_disabled')
      await db.knex.raw('ALTER TABLE customers ENABLE REPLICA TRIGGER t_replica')
      await db.knex.raw('ALTER TABLE customers ENABLE ALWAYS TRIGGER t_always')
      const states = async () =>
        (
          await db.knex.raw(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'customers'::regclass AND NOT tgisinternal AND tgname LIKE 't\\_%' ORDER BY 1",
          )
        ).rows
      const expected = [
        { tgname: 't_always', tgenabled: 'A' },
        { tgname: 't_disabled', tgenabled: 'D' },
        { tgname: 't_origin', tgenabled: 'O' },
        { tgname: 't_replica', tgenabled: 'R' },
      ]
      assert.deepEqual(await states(), expected)
      await withShout(db, async (evolve) => {
        await runToDone(evolve)
        assert.deepEqual(await states(), expected, 'after the swap')
        await evolve.revert(NAME)
        assert.deepEqual(await states(), expected, 'after the revert')
        await evolve.cleanup(NAME)
      })
    }))

  it('an identity key’s sequence keeps its name through the swap, the cleanup and the revert; the backup’s takes a backup name', () =>
    withDb('postgres', async (db) => {
      await createCustomers(db)
      const seq = async () => String((await one(db, "SELECT pg_get_serial_sequence('customers', 'id') AS s")).s)
      const exists = async (name: string) => Boolean((await one(db, `SELECT to_regclass('${name}') IS NOT NULL AS e`)).e)
      const insert = async () => Number((await one(db, "INSERT INTO customers (name) VALUES ('new') RETURNING id")).id)
      await withShout(db, async (evolve) => {
        await runToDone(evolve)
        assert.equal(await seq(), 'public.customers_id_seq', 'after the swap')
        assert.equal(
          String((await one(db, "SELECT pg_get_serial_sequence('customers__evolve_old_1', 'id') AS s")).s),
          'public.customers_id_seq__evo1',
        )
        await evolve.revert(NAME, { force: true })
        assert.equal(await seq(), 'public.customers_id_seq', 'after the revert')
        assert.equal(await insert(), ROWS + 1, 'the key continues after the revert')
        await evolve.cleanup(NAME)
        assert.equal(await seq(), 'public.customers_id_seq')

        // Run again (the revert was cleaned up), then drop the backup: the name stays the live table's.
        await runToDone(evolve)
        await evolve.cleanup(NAME)
        assert.equal(await seq(), 'public.customers_id_seq', 'after the swap and the cleanup')
        assert.equal(await exists('customers__evolve_new_2_id_seq'), false, 'no sequence under the copy’s name')
        assert.equal(await insert(), ROWS + 2, 'the key continues')
      })
    }))

  for (const identity of ['USING INDEX customers_name_key', 'FULL'])
    it(`the table's settings come through the swap and the revert: UNLOGGED, fillfactor, statistics target, column storage and compression, REPLICA IDENTITY ${identity}`, () =>
      withDb('postgres', async (db) => {
        await db.knex.raw(
          'CREATE UNLOGGED TABLE customers (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE) WITH (fillfactor = 70)',
        )
        await db.knex.raw(`INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, ${ROWS}) g`)
        await db.knex.raw('ALTER TABLE customers ALTER COLUMN name SET STATISTICS 500')
        await db.knex.raw('ALTER TABLE customers ALTER COLUMN name SET STORAGE EXTERNAL')
        await db.knex.raw('ALTER TABLE customers ALTER COLUMN name SET COMPRESSION pglz')
        await db.knex.raw('ALTER TABLE customers ALTER COLUMN name SET (n_distinct = 100)') // not carried: plan says so
        await db.knex.raw(`ALTER TABLE customers REPLICA IDENTITY ${identity}`)
        const settings = async () =>
          one(
            db,
            `SELECT c.relpersistence, c.reloptions, c.relreplident,
                    (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid AND i.indisreplident) AS ident_index,
                    (SELECT attstattarget FROM pg_attribute WHERE attrelid = c.oid AND attname = 'name') AS stats,
                    (SELECT attstorage FROM pg_attribute WHERE attrelid = c.oid AND attname = 'name') AS storage,
                    (SELECT attcompression FROM pg_attribute WHERE attrelid = c.oid AND attname = 'name') AS compression
               FROM pg_class c WHERE c.oid = 'customers'::regclass`,
          )
        const before = await settings()
        assert.deepEqual(before, {
          relpersistence: 'u',
          reloptions: ['fillfactor=70'],
          relreplident: identity === 'FULL' ? 'f' : 'i',
          ident_index: identity === 'FULL' ? null : 'customers_name_key',
          stats: 500,
          storage: 'e',
          compression: 'p',
        })
        await withShout(db, async (evolve) => {
          const plan = await evolve.plan()
          const listed = JSON.stringify(plan)
          const carried = [
            'UNLOGGED',
            'fillfactor=70',
            'statistics target 500 (name)',
            'compression pglz (name)',
            `REPLICA IDENTITY ${identity}`,
          ]
          for (const setting of [...carried, 'column options (name) n_distinct=100","action":"not carried'])
            assert.ok(listed.includes(setting), `plan lists ${setting}: ${listed}`)
          await runToDone(evolve)
          assert.deepEqual(await settings(), before, 'after the swap')
          await evolve.revert(NAME, { force: true })
          assert.deepEqual(await settings(), before, 'after the revert')
          await evolve.cleanup(NAME)
        })
      }))
})
