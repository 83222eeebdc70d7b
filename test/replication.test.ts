// --max-replication-lag-ms against a real streaming replica: a primary and a replica of it,
// whose replay the test pauses (pg_wal_replay_pause) so its replay_lag grows on the primary.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import knex from 'knex'
import { runCli, spawnCli, statusJson } from './helpers/cli.ts'
import { type FreshPostgres } from './helpers/databases.ts'
import { countBatches, counterHistogram, createItems, makeProject, runRow, setMigration, waitUntil } from './helpers/fixtures.ts'
import { query, replicatedPostgres, type ReplicatedPostgres } from './helpers/replicated-postgres.ts'

const withDatabase = (serverUrl: string, name: string) => Object.assign(new URL(serverUrl), { pathname: `/${name}` }).href

/** A new database on the primary (it replicates like everything else). */
async function freshOnPrimary(servers: ReplicatedPostgres, name: string, user = 'postgres'): Promise<FreshPostgres> {
  await query(servers.primaryUrl, `CREATE DATABASE ${name}`)
  const url = Object.assign(new URL(withDatabase(servers.primaryUrl, name)), { username: user }).href
  const adminKnex = knex({ client: 'pg', connection: withDatabase(servers.primaryUrl, name), pool: { min: 0, max: 3 } })
  return { dialect: 'postgres', url, knex: adminKnex, drop: () => adminKnex.destroy() }
}

/** The primary's view of the replica's replay lag in ms (0 when caught up). */
async function replayLagMs(servers: ReplicatedPostgres): Promise<number> {
  const [row] = await query<{ lag: string | null }>(
    servers.primaryUrl,
    'SELECT extract(epoch FROM replay_lag) * 1000 AS lag FROM pg_stat_replication',
  )
  return Number(row?.lag ?? 0)
}

const throttleReason = async (db: FreshPostgres, name: string) =>
  ((await runRow(db.knex, name))?.throttleReason as string | null | undefined) ?? null

describe('--max-replication-lag-ms with a streaming replica', () => {
  let servers: ReplicatedPostgres
  before(async () => {
    servers = await replicatedPostgres()
  })
  after(async () => {
    await servers?.stop()
  })

  it('holds the run back while the replica replays more than the limit behind, and finishes once it catches up', async () => {
    const db = await freshOnPrimary(servers, 'evk_lag')
    const rows = 100
    await createItems(db.knex, rows)
    const project = await makeProject(db, setMigration(10))
    try {
      await query(servers.replicaUrl, 'SELECT pg_wal_replay_pause()')
      // Writes on the primary that the paused replica receives but does not replay.
      await waitUntil(
        'replay lag above 800 ms',
        async () => {
          await db.knex.raw('CREATE TABLE IF NOT EXISTS app_writes (at timestamptz); INSERT INTO app_writes VALUES (now())')
          return (await replayLagMs(servers)) > 800
        },
        { everyMs: 100 },
      )

      const run = spawnCli(['run', ...project.flags, '--max-replication-lag-ms', '500'])
      const reason = await waitUntil('a replication lag throttle', async () => {
        const r = await throttleReason(db, project.name)
        return r?.startsWith('replication lag') ? r : undefined
      })
      assert.match(reason, /^replication lag \d+ ms > 500 ms$/)
      assert.ok(Number(/lag (\d+) ms/.exec(reason)![1]) > 500, reason)
      const status = await statusJson(project.name, project.dbFlags, { cwd: project.dir })
      assert.equal(status.state, 'running')
      assert.match(status.throttled ?? '', /^replication lag/)
      assert.equal(await countBatches(db.knex, project.name, { state: 'done' }), 0, 'no batch ran while the replica lagged')
      assert.deepEqual(await counterHistogram(db.knex), { 0: rows })
      assert.equal(run.child.exitCode, null, 'the throttled run waits instead of exiting')

      await query(servers.replicaUrl, 'SELECT pg_wal_replay_resume()')
      const result = await run.exited
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
      assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
      assert.equal(await throttleReason(db, project.name), null, 'the reason is cleared once the replica caught up')
      // The evolved rows reach the replica as well.
      const onReplica = withDatabase(servers.replicaUrl, 'evk_lag')
      await waitUntil('the evolved rows on the replica', async () => {
        const [row] = await query<{ n: string }>(onReplica, 'SELECT count(*) AS n FROM items WHERE counter = 1')
        return Number(row.n) === rows
      })
    } finally {
      await query(servers.replicaUrl, 'SELECT pg_wal_replay_resume()').catch(() => {})
      await project.cleanup()
      await db.drop()
    }
  })

  it('refuses to start, naming the grant, when the role cannot see the replica lag, and runs once granted pg_read_all_stats', async () => {
    await query(servers.primaryUrl, 'CREATE ROLE evk_app LOGIN')
    const db = await freshOnPrimary(servers, 'evk_grants', 'evk_app')
    const rows = 50
    await createItems(db.knex, rows)
    await db.knex.raw('GRANT ALL ON SCHEMA public TO evk_app; GRANT ALL ON items TO evk_app')
    const project = await makeProject(db, setMigration(10))
    try {
      const args = ['run', ...project.flags, '--max-replication-lag-ms', '500']
      const refused = await runCli(args)
      assert.equal(refused.code, 2, refused.stderr)
      assert.equal(
        refused.stderr.trim(),
        'evolve: maxReplicationLagMs: role "evk_app" cannot read replica lag from pg_stat_replication; GRANT pg_read_all_stats TO "evk_app", or drop --max-replication-lag-ms',
      )
      assert.deepEqual(await counterHistogram(db.knex), { 0: rows })
      assert.equal(await db.knex.schema.hasTable('evolve_runs'), false, 'not even the tracking tables were created')

      await query(servers.primaryUrl, 'GRANT pg_read_all_stats TO evk_app')
      const granted = await runCli(args)
      assert.equal(granted.code, 0, `${granted.stdout}\n${granted.stderr}`)
      assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })
})
