// The PostgreSQL server the bench measures: DATABASE_URL's, or a throwaway embedded one
// (the same helper `npm test` uses), with a scratch database that is dropped afterwards.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { embeddedPostgres, serverVersion } from '../test/helpers/embedded-postgres.ts'

/**
 * Settings of the embedded server on top of the test helper's (fsync, synchronous_commit and
 * full_page_writes off). The same server runs the baselines and evolvekit. No checkpoint and no
 * autovacuum in the middle of a measurement: each timed step starts after VACUUM + CHECKPOINT.
 */
export const BENCH_SETTINGS = {
  shared_buffers: '1GB',
  max_wal_size: '16GB',
  checkpoint_timeout: '1h',
  autovacuum: 'off',
} as const

export interface BenchPostgres {
  /** postgres:// URL of the scratch database. */
  url: string
  version: string
  source: string
  settings: Record<string, string> | null
  /** Drops the scratch database and stops the embedded server, if any. */
  close(): Promise<void>
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

export async function provisionPostgres(): Promise<BenchPostgres> {
  const server = process.env.DATABASE_URL ? undefined : embeddedPostgres({ settings: BENCH_SETTINGS })
  try {
    const serverUrl = process.env.DATABASE_URL ?? (await server!.start())
    const name = `evk_bench_${randomBytes(4).toString('hex')}`
    await admin(serverUrl, `CREATE DATABASE ${name}`)
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    return {
      url: url.href,
      version: await serverVersion(serverUrl),
      source: server ? 'embedded-postgres (tuned, see BENCH_SETTINGS)' : 'DATABASE_URL',
      settings: server ? { ...BENCH_SETTINGS } : null,
      async close() {
        await admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {})
        await server?.stop()
      },
    }
  } catch (error) {
    await server?.stop()
    throw error
  }
}
