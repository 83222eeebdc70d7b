// A fixed batch size (--batch-size) is stored on the run once, for `status`: two processes serving
// one run with different sizes used to rewrite it on every turn, one more write on the run row
// (which every claim lines up on) per batch.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { storeFor } from '../lib/store/store.ts'
import { exitOf, spawnCli } from './helpers/cli.ts'
import { withDb } from './helpers/databases.ts'
import { counterHistogram, createItems, workspace } from './helpers/fixtures.ts'

const slowMigration = `import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  pending: (q) => q.where('counter', 0),
  async transform() {
    await new Promise((resolve) => setTimeout(resolve, 10))
    return { counter: 1 }
  },
})
`

describe('a fixed batch size', () => {
  it('is stored once per process, not on every turn, when two processes serve one run with different sizes', () =>
    withDb('postgres', async (db) => {
      await createItems(db.knex, 600)
      await storeFor(db.knex).ensure(db.knex)
      await db.knex.raw('CREATE TABLE size_writes (size integer)')
      await db.knex.raw(`CREATE FUNCTION note_size() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO size_writes VALUES (NEW.batch_size); RETURN NEW; END $$`)
      await db.knex.raw(`CREATE TRIGGER note_size AFTER UPDATE ON evolve_runs FOR EACH ROW
        WHEN (OLD.batch_size IS DISTINCT FROM NEW.batch_size) EXECUTE FUNCTION note_size()`)
      const ws = await workspace()
      try {
        const name = await ws.migration('001_slow', slowMigration)
        const run = (size: number) => spawnCli(['run', '--db', db.url, '--dir', ws.dir, '--batch-size', String(size)])
        const [a, b] = [run(7), run(11)]
        for (const cli of [a, b]) assert.equal((await exitOf(cli)).code, 0, cli.describe())
        assert.deepEqual(await counterHistogram(db.knex), { 1: 600 })
        // Both served the run side by side: each planned batches of its own size.
        const sizes = await db.knex('evolve_batches').where({ run_name: name, phase: 'scan' }).distinct('planned').pluck('planned')
        assert.deepEqual(
          sizes.map(Number).sort((x, y) => x - y),
          [7, 11],
        )
        const writes = await db.knex('size_writes').pluck('size')
        assert.ok(writes.length <= 2, `batch_size rewritten ${writes.length} times: ${writes.join(' ')}`)
      } finally {
        await ws.cleanup()
      }
    }))
})
