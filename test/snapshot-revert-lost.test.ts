// `evolve revert --force` after the app wrote to the swapped-in table: the refusal without
// --force and the line with it say, in words that fit the count, exactly what would be (is) lost.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { openEvolve } from '../lib/index.ts'
import { assertUsageError, output, runCli } from './helpers/cli.ts'
import { type FreshDatabase, dialects, runnerKnex, withDb } from './helpers/databases.ts'
import { createShop, snapshotMigration, writeFiles } from './helpers/fixtures.ts'

const ROWS = 300
const NAME = '001_lowercase'

/** What each dialect says was written: SQLite counts row writes, PostgreSQL sees row versions and row counts. */
const LOST = {
  sqlite: {
    one: '1 row write since the swap (an insert, update or delete, by the app or by a trigger)',
    many: '3 row writes since the swap (inserts, updates and deletes, by the app or by triggers)',
  },
  postgres: {
    one: `1 row inserted or updated since the swap (${ROWS + 1} rows now, ${ROWS} then)`,
    many: `2 rows inserted or updated and at most 1 row deleted since the swap (${ROWS + 1} rows now, ${ROWS} then)`,
  },
}

/** A shop whose users were evolved in snapshot mode and swapped; `fn` gets the CLI's flags and the admin object. */
async function withSwappedShop(
  db: FreshDatabase,
  fn: (flags: string[], evolve: Awaited<ReturnType<typeof openEvolve>>) => Promise<void>,
): Promise<void> {
  await createShop(db, ROWS)
  const dir = await writeFiles({ [`${NAME}.ts`]: snapshotMigration('batchSize: 100,') })
  const knex = runnerKnex(db)
  const evolve = await openEvolve({ knex, migrations: dir })
  try {
    const [first] = await (await evolve.run()).done
    assert.equal(first?.state, 'done', JSON.stringify(first))
    await fn(['--db', db.url, '--dir', dir], evolve)
  } finally {
    await evolve.close()
    await knex.destroy()
  }
}

for (const d of dialects) {
  describe(`evolve revert after writes since the swap on ${d}`, () => {
    it('names what one write and what several would lose, refuses without --force, and says what --force lost', () =>
      withDb(d, (db) =>
        withSwappedShop(db, async (flags, evolve) => {
          await db.knex('users').insert({ email: 'one@example.com' })
          assertUsageError(await runCli(['revert', NAME, ...flags]), [
            `reverting users would lose ${LOST[d].one}: \`evolve revert ${NAME} --force\` reverts anyway`,
          ])
          const one = await runCli(['revert', NAME, '--force', ...flags])
          assert.equal(one.code, 0, output(one))
          assert.equal(one.stdout.split('\n')[0], `${NAME}: writes lost by --force: ${LOST[d].one}`)
          assert.equal(Number((await db.knex('users').count({ n: '*' }))[0]!.n), ROWS, 'the inserted row went with the evolved table')

          await evolve.cleanup(NAME)
          const [second] = await (await evolve.run()).done
          assert.equal(second?.state, 'done', JSON.stringify(second))
          await db.knex('users').insert([{ email: 'two@example.com' }, { email: 'three@example.com' }])
          await db.knex('users').where({ id: 100 }).delete() // no order names it
          const many = await runCli(['revert', NAME, '--force', ...flags])
          assert.equal(many.code, 0, output(many))
          assert.equal(many.stdout.split('\n')[0], `${NAME}: writes lost by --force: ${LOST[d].many}`)
        }),
      ))
  })
}

describe('evolve revert after writes since the swap on postgres, in words row versions can back', () => {
  it('says an update alone is no deletion for sure, and counts deletes alone exactly', () =>
    withDb('postgres', (db) =>
      withSwappedShop(db, async (flags, evolve) => {
        // Nothing deleted: an updated row has no old version, as a deleted one has none.
        await db
          .knex('users')
          .where({ id: 1 })
          .update({ name: db.knex.raw('name') })
        const updated = await runCli(['revert', NAME, ...flags])
        assertUsageError(updated, [
          `reverting users would lose 1 row inserted or updated and at most 1 row deleted since the swap (${ROWS} rows now, ${ROWS} then)`,
        ])
        assert.doesNotMatch(output(updated), /at least/, 'claims no deletion')
        const lost = await runCli(['revert', NAME, '--force', ...flags])
        assert.equal(lost.code, 0, output(lost))

        await evolve.cleanup(NAME)
        const [second] = await (await evolve.run()).done
        assert.equal(second?.state, 'done', JSON.stringify(second))
        await db.knex('users').whereIn('id', [100, 200]).delete() // no order names them
        assertUsageError(await runCli(['revert', NAME, ...flags]), [
          `reverting users would lose 2 rows deleted since the swap (${ROWS - 2} rows now, ${ROWS} then)`,
        ])
      }),
    ))
})
