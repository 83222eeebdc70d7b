// Poison rows: a batch that fails for good is split until the failing rows stand alone;
// they are recorded, the rest of the run completes, and `evolve retry` re-drives only them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from './helpers/cli.ts';
import { dialects } from './helpers/databases.ts';
import {
  countBatches, createUsers, failureRows, migrationSource, newEmail, oldEmail, output, rowsOf, runRow, statusOf, withDb,
  writeFiles,
} from './helpers/fixtures.ts';

const COUNT = 2000;
const POISON = [137, 1000, 1874];
const isPoison = (id: number) => POISON.includes(id);

for (const d of dialects) {
  describe(d, { concurrency: 2 }, () => {
    it('poison rows are isolated and listed by failures, the rest evolve, and retry finishes them once fixed', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: COUNT, pending: () => true, bad: isPoison });
        const dir = await writeFiles({
          '001_lower.ts': migrationSource(`{
            table: 'users',
            pending: (q) => q.whereRaw('email <> lower(email)'),
            transform: (row) => {
              if (row.bad) throw new Error('cannot evolve user ' + row.id + ': flagged bad')
              return { email: row.email.toLowerCase() }
            },
          }`),
        });
        const cli = (...args: string[]) => runCli([...args, '--db', db.url, '--dir', dir]);

        const run = await cli('run');
        assert.equal(run.code, 1, output(run));
        assert.equal((await runRow(db, '001_lower'))?.state, 'failed');
        assert.ok((await countBatches(db, '001_lower', { state: 'split' })) > 0, 'failing batches were split');

        const listed = await cli('failures', '001_lower', '--json');
        assert.equal(listed.code, 0, output(listed));
        const failures = (JSON.parse(listed.stdout) as { key: number; error: string; attempts: number }[]).sort((a, b) => a.key - b.key);
        assert.deepEqual(failures.map((f) => f.key), POISON);
        for (const f of failures) {
          assert.match(f.error, new RegExp(`cannot evolve user ${f.key}: flagged bad`));
          assert.ok(f.attempts >= 1, `attempts ${f.attempts}`);
        }
        for (const row of await rowsOf(db, 'users')) {
          const id = row.id as number;
          assert.equal(row.email, isPoison(id) ? oldEmail(id) : newEmail(id), `row ${id}`);
        }

        await db.knex('users').whereIn('id', POISON).update({ bad: false });
        const retry = await cli('retry', '001_lower');
        assert.equal(retry.code, 0, output(retry));
        assert.equal((await runRow(db, '001_lower'))?.state, 'done');
        assert.deepEqual(await failureRows(db, '001_lower'), []);
        for (const row of await rowsOf(db, 'users')) assert.equal(row.email, newEmail(row.id as number), `row ${row.id}`);
        assert.equal(statusOf(await cli('status', '--json'), '001_lower').state, 'done');
      }));

    it('retry touches only the failed rows, and every row is evolved exactly once in the end', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: COUNT, bad: isPoison });
        // No `pending`: every row once. The counter is bumped before the poison check, so a
        // failed batch's rollback is visible too (poison rows stay at 0 until the retry).
        const dir = await writeFiles({
          '001_count.ts': migrationSource(`{
            table: 'users',
            async up(rows, { trx }) {
              await trx('users').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
              const bad = rows.find((r) => r.bad)
              if (bad) throw new Error('poison row ' + bad.id)
            },
          }`),
        });
        const cli = (...args: string[]) => runCli([...args, '--db', db.url, '--dir', dir]);

        const run = await cli('run');
        assert.equal(run.code, 1, output(run));
        assert.deepEqual((await failureRows(db, '001_count')).map((f) => f.key), POISON);
        for (const row of await rowsOf(db, 'users')) {
          assert.equal(row.counter, isPoison(row.id as number) ? 0 : 1, `row ${row.id} after the run`);
        }

        await db.knex('users').whereIn('id', POISON).update({ bad: false });
        const retry = await cli('retry', '001_count');
        assert.equal(retry.code, 0, output(retry));
        assert.equal((await runRow(db, '001_count'))?.state, 'done');
        for (const row of await rowsOf(db, 'users')) assert.equal(row.counter, 1, `row ${row.id} after the retry`);

        const again = await cli('retry', '001_count');
        assert.equal(again.code, 2, output(again));
        const lines = again.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, again.stderr);
        assert.match(lines[0]!, /^evolve: .*001_count.*no failed objects/);
        for (const row of await rowsOf(db, 'users')) assert.equal(row.counter, 1, `row ${row.id} after the refused retry`);
      }));

    it('a migration failing on every row stops after maxFailures instead of recording thousands', () =>
      withDb(d, async (db) => {
        await createUsers(db, { count: COUNT, pending: () => true });
        const maxFailures = 5;
        const dir = await writeFiles({
          '001_broken.ts': migrationSource(`{
            table: 'users',
            pending: (q) => q.whereRaw('email <> lower(email)'),
            maxFailures: ${maxFailures},
            transform: (row) => { throw new Error('broken for ' + row.id) },
          }`),
        });

        const run = await runCli(['run', '--db', db.url, '--dir', dir]);
        assert.equal(run.code, 1, output(run));
        const state = await runRow(db, '001_broken');
        assert.equal(state?.state, 'failed');
        assert.match(state?.lastError ?? '', /maxFailures/);
        const failures = await failureRows(db, '001_broken');
        assert.ok(failures.length >= maxFailures && failures.length < 2 * maxFailures, `${failures.length} failures recorded`);
        const status = statusOf(await runCli(['status', '--json', '--db', db.url, '--dir', dir]), '001_broken');
        assert.equal(status.state, 'failed');
        assert.match(String(status.lastError), /maxFailures/);
        const untouched = await db.knex('users').whereRaw('email <> lower(email)').count({ n: '*' }).first();
        assert.equal(Number(untouched?.n), COUNT, 'no row was changed');
      }));
  });
}
