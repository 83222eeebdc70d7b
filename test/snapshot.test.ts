// Snapshot mode end to end, in process through the admin layer: the copy is evolved and
// swapped in with every dependent object carried; revert restores the exact old contents;
// cleanup drops the backup; what cannot be carried is refused before anything changes.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { openEvolve } from '../lib/index.ts'
import { runCli } from './helpers/cli.ts'
import { dialects, runnerKnex, withDb } from './helpers/databases.ts'
import { allRows, createShop, newEmail, oldEmail, snapshotMigration, tableNames, writeFiles } from './helpers/fixtures.ts'

const ROWS = 300
const NAME = '001_lowercase'

for (const d of dialects) {
  describe(`snapshot mode on ${d}`, () => {
    it('swaps in the evolved copy: new keys, the view, the foreign key and the trigger all follow it; the old table is the backup', () =>
      withDb(d, async (db) => {
        await createShop(db, ROWS)
        await db.knex('users').where({ id: ROWS }).delete() // its key was handed out: it must not come back
        const before = await allRows(db.knex, 'users')
        const dir = await writeFiles({ [`${NAME}.ts`]: snapshotMigration('batchSize: 50,') })
        const knex = runnerKnex(db)
        const evolve = await openEvolve({ knex, migrations: dir })
        try {
          const steps: string[] = []
          evolve.events.on('snapshot:step', (e) => steps.push(e.step))
          const [result] = await (await evolve.run()).done
          assert.equal(result?.state, 'done', JSON.stringify(result))
          assert.deepEqual(steps, ['preflight', 'read-only', 'copy', 'build', 'evolve', 'verify', 'swap', 'validate', 'read-write', 'done'])

          const after = await allRows(db.knex, 'users')
          assert.deepEqual(
            after,
            before.map((r) => ({ ...r, email: newEmail(Number(r.id)) })),
            'every row evolved, every other column as it was',
          )
          const backup = `users__evolve_old_1`
          assert.deepEqual(await allRows(db.knex, backup), before, 'the old table is kept, untouched, as the backup')
          assert.deepEqual(await tableNames(db), ['orders', 'users', backup])

          // A new key, past every key of the table (no duplicate-key error).
          const [inserted] = await db.knex('users').insert({ email: 'new@example.com' }).returning('id')
          const id = Number(typeof inserted === 'object' ? inserted.id : inserted)
          assert.equal(id, ROWS + 1, 'a new key, past every key the table ever handed out')
          // The view reads the new table.
          assert.deepEqual(await db.knex('user_emails').where({ id: 3 }).first(), { id: 3, email: newEmail(3) })
          // The foreign key from orders holds and points at the new table.
          await db.knex('orders').insert({ user_id: id })
          await assert.rejects(db.knex('orders').insert({ user_id: 99_999 }), /foreign key|FOREIGN KEY/)
          if (d === 'postgres') {
            const { rows } = await db.knex.raw(
              "SELECT confrelid::regclass::text AS parent, convalidated FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'",
            )
            assert.deepEqual(rows, [{ parent: 'users', convalidated: true }])
            const { rows: seq } = await db.knex.raw("SELECT pg_get_serial_sequence('users', 'id') AS seq")
            assert.equal(seq[0].seq, 'public.users_id_seq', 'the sequence is owned by the new table')
          }
          // The unique index came along (under its own name) and the trigger fires on the new table.
          await assert.rejects(db.knex('users').insert({ email: newEmail(1) }), /unique|UNIQUE/)
          await db.knex('users').where({ id: 1 }).update({ name: 'renamed' })
          assert.equal(Number((await db.knex('users').where({ id: 1 }).first()).touches), 1)

          const status = await evolve.progress(NAME)
          assert.equal(status.state, 'done')
          assert.equal(status.snapshot?.step, 'done')
          assert.equal(status.snapshot?.copied, ROWS - 1)
          assert.equal(status.snapshot?.evolved?.done, ROWS - 1)
          assert.ok(status.snapshot?.readOnly?.until, 'the read-only window closed')
          assert.equal(status.snapshot?.backup, backup)
        } finally {
          await evolve.close()
          await knex.destroy()
        }
      }))

    it('revert restores the exact previous contents, refuses after a write without force, and cleanup drops the backup', () =>
      withDb(d, async (db) => {
        await createShop(db, ROWS)
        const before = await allRows(db.knex, 'users')
        const dir = await writeFiles({ [`${NAME}.ts`]: snapshotMigration() })
        const knex = runnerKnex(db)
        const evolve = await openEvolve({ knex, migrations: dir })
        try {
          await (
            await evolve.run()
          ).done
          const r = await evolve.revert(NAME)
          assert.equal(r.lost, null)
          assert.deepEqual(await allRows(db.knex, 'users'), before, 'the table holds exactly what it held before the swap')
          assert.deepEqual(
            await db.knex('user_emails').where({ id: 3 }).first(),
            { id: 3, email: oldEmail(3) },
            'the view reads the restored table',
          )
          await db.knex('orders').insert({ user_id: 2 })
          assert.equal((await evolve.progress(NAME)).state, 'pending', 'the migration is pending again')
          const cleaned = await evolve.cleanup(NAME)
          assert.equal(cleaned.dropped, 'users__evolve_new_1')
          assert.deepEqual(await tableNames(db), ['orders', 'users'])

          // Again, and this time the app writes after the swap.
          await (
            await evolve.run()
          ).done
          assert.equal((await db.knex('users').where({ id: 5 }).first()).email, newEmail(5))
          await db.knex('users').where({ id: 5 }).update({ name: 'written after the swap' })
          await assert.rejects(
            evolve.revert(NAME),
            (err: Error & { code?: string }) => err.code === 'E_SNAPSHOT_WRITTEN' && /--force/.test(err.message),
          )
          assert.equal(
            (await db.knex('users').where({ id: 5 }).first()).name,
            'written after the swap',
            'the refused revert changed nothing',
          )
          const forced = await evolve.revert(NAME, { force: true })
          assert.match(forced.lost ?? '', /^[1-9]\d* row.* since the swap/)
          assert.deepEqual(await allRows(db.knex, 'users'), before)
          await evolve.cleanup(NAME)

          await (
            await evolve.run()
          ).done
          const backup = (await evolve.progress(NAME)).snapshot!.backup
          assert.ok((await tableNames(db)).includes(backup))
          assert.deepEqual(await evolve.cleanup(NAME), { dropped: backup })
          assert.deepEqual(await tableNames(db), ['orders', 'users'])
          await assert.rejects(evolve.revert(NAME), (err: Error & { code?: string }) => err.code === 'E_SNAPSHOT_STEP')
        } finally {
          await evolve.close()
          await knex.destroy()
        }
      }))

    it('evolve run --mode snapshot runs an ordinary migration file in snapshot mode; status --json shows the steps and the window; revert and cleanup from the CLI', () =>
      withDb(d, async (db) => {
        await createShop(db, 50)
        const before = await allRows(db.knex, 'users')
        const dir = await writeFiles({ [`${NAME}.ts`]: snapshotMigration().replace("mode: 'snapshot',", '') })
        const global = ['--db', db.url, '--dir', dir]
        const run = await runCli(['run', '--mode', 'snapshot', ...global])
        assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`)
        assert.match(run.stdout, /snapshot of users: swap/)
        assert.match(run.stdout, /done, 50\/50 rows \(100%\), snapshot step 10\/10 done, read-only was \d+s, backup users__evolve_old_1/)
        const [status] = JSON.parse((await runCli(['status', '--json', ...global])).stdout)
        assert.equal(status.snapshot.step, 'done')
        assert.equal(status.snapshot.copied, 50)
        assert.ok(Date.parse(status.snapshot.readOnly.until) >= Date.parse(status.snapshot.readOnly.since))
        assert.equal(typeof status.snapshot.readOnly.ms, 'number')
        const revert = await runCli(['revert', NAME, ...global])
        assert.equal(revert.code, 0, revert.stderr)
        assert.match(revert.stdout, /reverted; users holds its rows from before the swap/)
        assert.deepEqual(await allRows(db.knex, 'users'), before)
        // Pending again, but run is refused until cleanup: status says so.
        const reverted = await runCli(['status', ...global])
        assert.match(reverted.stdout, new RegExp(`reverted \\(evolve cleanup ${NAME}, then it can run again\\)`))
        const cleanup = await runCli(['cleanup', NAME, ...global])
        assert.match(cleanup.stdout, /dropped users__evolve_new_1/)
        const again = await runCli(['cleanup', NAME, ...global])
        assert.equal(again.code, 2)
        assert.match(again.stderr, /has no snapshot: .*or its revert was cleaned up already/)
        const bad = await runCli(['run', '--mode', 'fast', ...global])
        assert.equal(bad.code, 2)
        assert.match(bad.stderr, /--mode takes online or snapshot/)
      }))

    it('a copy that fails verify is never swapped in: the table untouched, the copy dropped, the run failed with the reason', () =>
      withDb(d, async (db) => {
        await createShop(db, 100)
        const before = await allRows(db.knex, 'users')
        const dir = await writeFiles({
          [`${NAME}.ts`]: snapshotMigration('verify: async (knex, table) => (await knex(table).count({ n: "*" }).first()).n == 0,'),
        })
        const knex = runnerKnex(db)
        const evolve = await openEvolve({ knex, migrations: dir })
        try {
          const [result] = await (await evolve.run()).done
          assert.equal(result?.state, 'failed')
          assert.match(
            result?.lastError ?? '',
            /snapshot stopped at verify, before the swap \(users untouched\): verify\(\) returned false/,
          )
          assert.deepEqual(await allRows(db.knex, 'users'), before)
          assert.deepEqual(await tableNames(db), ['orders', 'users'], 'the copy is dropped')
          assert.ok(result?.snapshot?.readOnly?.until, 'read-only is off again')
          assert.equal(result?.snapshot?.step, 'verify', 'status says where it stopped')
          const snap = await db.knex('evolve_snapshots').first()
          assert.equal(snap.step, 'preflight', 'the next run starts over from a fresh copy')
        } finally {
          await evolve.close()
          await knex.destroy()
        }
      }))

    it('evolve plan shows every dependent object, what the swap does with it, and the extra disk', () =>
      withDb(d, async (db) => {
        await createShop(db, 20)
        const dir = await writeFiles({ [`${NAME}.ts`]: snapshotMigration() })
        const result = await runCli(['plan', '--json', '--db', db.url, '--dir', dir])
        assert.equal(result.code, 0, result.stderr)
        const [plan] = JSON.parse(result.stdout)
        const kinds = new Set(plan.snapshot.objects.map((o: { kind: string }) => o.kind))
        for (const kind of ['index', 'trigger', 'foreign key in', 'view']) assert.ok(kinds.has(kind), `${kind} listed: ${result.stdout}`)
        assert.deepEqual(plan.snapshot.refused, [])
        const text = await runCli(['plan', '--db', db.url, '--dir', dir])
        assert.match(text.stdout, /snapshot: extra disk for the copy about/)
      }))
  })
}

describe('snapshot mode refuses what it cannot carry', () => {
  it('a table in a publication is refused before anything changes, naming the publication and what to do', () =>
    withDb('postgres', async (db) => {
      await createShop(db, 20)
      await db.knex.raw('CREATE PUBLICATION shop_pub FOR TABLE users')
      const before = await allRows(db.knex, 'users')
      const dir = await writeFiles({ [`${NAME}.ts`]: snapshotMigration() })
      const result = await runCli(['run', '--db', db.url, '--dir', dir])
      assert.equal(result.code, 2, `${result.stdout}\n${result.stderr}`)
      assert.match(result.stderr, /publication shop_pub: .*ALTER PUBLICATION shop_pub DROP TABLE users/)
      assert.deepEqual(await allRows(db.knex, 'users'), before)
      assert.deepEqual(await tableNames(db), ['orders', 'users'])
      assert.equal((await db.knex('evolve_snapshots').count({ n: '*' }).first())?.n, '0')
    }))
})

describe('snapshot mode on PostgreSQL carries what only PostgreSQL has', () => {
  it('a schema-qualified table with an identity key, a self reference, a policy, a grant and a comment comes through the swap and the revert', () =>
    withDb('postgres', async (db) => {
      const { knex } = db
      await knex.raw('CREATE SCHEMA app')
      await knex.raw(`CREATE TABLE app.nodes (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        parent_id bigint REFERENCES app.nodes (id),
        label text NOT NULL CHECK (label <> ''))`)
      await knex.raw("COMMENT ON TABLE app.nodes IS 'a tree'")
      await knex.raw('GRANT SELECT, INSERT ON app.nodes TO PUBLIC')
      await knex.raw('ALTER TABLE app.nodes ENABLE ROW LEVEL SECURITY')
      await knex.raw("CREATE POLICY visible ON app.nodes FOR SELECT TO PUBLIC USING (label <> 'hidden')")
      await knex.raw(
        "INSERT INTO app.nodes (parent_id, label) SELECT CASE WHEN g > 1 THEN g - 1 END, 'node ' || g FROM generate_series(1, 120) g",
      )
      await knex.raw('DELETE FROM app.nodes WHERE id = 120') // a key handed out once must not come back
      const before = await allRows(knex, 'app.nodes')
      const dir = await writeFiles({
        [`${NAME}.ts`]: `import { defineMigration } from 'evolvekit'
export default defineMigration({
  mode: 'snapshot',
  table: 'app.nodes',
  pending: (q) => q.whereRaw('label <> upper(label)'),
  set: { label: (k) => k.raw('upper(label)') },
})
`,
      })
      const runner = runnerKnex(db)
      const evolve = await openEvolve({ knex: runner, migrations: dir })
      try {
        const [result] = await (await evolve.run()).done
        assert.equal(result?.state, 'done', JSON.stringify(result))
        assert.deepEqual(
          await allRows(knex, 'app.nodes'),
          before.map((r) => ({ ...r, label: String(r.label).toUpperCase() })),
        )
        const { rows: inserted } = await knex.raw("INSERT INTO app.nodes (parent_id, label) VALUES (119, 'NEW') RETURNING id")
        assert.equal(Number(inserted[0].id), 121, 'the identity continues past every key ever handed out')
        await assert.rejects(knex.raw("INSERT INTO app.nodes (parent_id, label) VALUES (999, 'ORPHAN')"), /foreign key/)
        const { rows: facts } = await knex.raw(`SELECT
            (SELECT confrelid::regclass::text FROM pg_constraint WHERE conrelid = 'app.nodes'::regclass AND contype = 'f') AS self_ref,
            (SELECT relrowsecurity FROM pg_class WHERE oid = 'app.nodes'::regclass) AS rls,
            (SELECT string_agg(polname, ',') FROM pg_policy WHERE polrelid = 'app.nodes'::regclass) AS policies,
            has_table_privilege('public', 'app.nodes', 'INSERT') AS public_insert,
            obj_description('app.nodes'::regclass, 'pg_class') AS comment,
            (SELECT count(*) FROM pg_constraint WHERE conrelid = 'app.nodes'::regclass AND contype = 'c') AS checks,
            (SELECT relname FROM pg_class WHERE oid = (SELECT conindid FROM pg_constraint WHERE conrelid = 'app.nodes'::regclass AND contype = 'p')) AS pkey`)
        assert.deepEqual(facts[0], {
          self_ref: 'app.nodes',
          rls: true,
          policies: 'visible',
          public_insert: true,
          comment: 'a tree',
          checks: '1',
          pkey: 'nodes_pkey',
        })
        await knex.raw('DELETE FROM app.nodes WHERE id = 121')
        await evolve.revert(NAME, { force: true })
        assert.deepEqual(await allRows(knex, 'app.nodes'), before, 'revert restores the exact rows')
        const { rows: again } = await knex.raw("INSERT INTO app.nodes (label) VALUES ('after revert') RETURNING id")
        assert.ok(Number(again[0].id) > 121, 'after the revert no key is handed out twice either')
        await evolve.cleanup(NAME)
      } finally {
        await evolve.close()
        await runner.destroy()
      }
    }))
})
