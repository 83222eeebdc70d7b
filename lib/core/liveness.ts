import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Knex } from 'knex'
import type { Presence } from '../dialects/dialect.ts'
import type { Store } from '../store/store.ts'
import type { WorkerRow } from '../store/workers.ts'

/** How long a worker's heartbeat proves it alive (the default `leaseMs`). */
export const LEASE_MS = 15_000

/** Worker ids alive in this process: a row with our own pid but another id is a dead predecessor. */
export const localWorkers = new Set<string>()

/** How many leases a live pid on this host vouches for a worker whose heartbeat is late. */
export const PID_VOUCHES_FOR_LEASES = 20

/**
 * Which of `owners` are dead. Proof comes from: no row, or a goodbye; a heartbeat older than
 * `leaseMs`, unless the worker's process is on this host and alive (for PID_VOUCHES_FOR_LEASES
 * leases at most: see below); then the
 * dialect's session check where it has one (PostgreSQL: the worker's advisory lock is free
 * because its session is gone, on any host), else a vanished pid on this host.
 */
export async function deadOwners(knex: Knex, store: Store, owners: string[], leaseMs: number): Promise<Set<string>> {
  const { dialect } = store
  const unique = [...new Set(owners)]
  const rows = new Map((await store.workers.get(knex, unique)).map((w) => [w.id, w]))
  const dead = new Set<string>()
  const here = hostname()
  for (const owner of unique) {
    if (localWorkers.has(owner)) continue // a sibling in this very process: alive
    const w = rows.get(owner)
    if (!w || w.stoppedAt !== null) {
      dead.add(owner)
      continue
    }
    // A late heartbeat is no proof of death when the process is here and alive: on SQLite a long
    // statement holds the worker's only connection, and its heartbeat waits behind it (any
    // dialect: a process stalled so is still working). Its pid is the better witness then.
    // For a while only: a statement stalls for seconds, but a pid the system gave to another process
    // after this one died (a kill -9, the OOM killer) would vouch for it forever.
    const local = w.host === here
    const vouched = local && w.ageMs <= leaseMs * PID_VOUCHES_FOR_LEASES && processAlive(w.pid, owner)
    if (w.ageMs > leaseMs && !vouched) dead.add(owner)
    // Where the database can tell, it is the judge too: containers sharing a host name (host
    // networking) have their own pid namespaces, so a pid alone says little there.
    else if (dialect.isWorkerConnected) {
      if (!(await dialect.isWorkerConnected(knex, owner))) dead.add(owner)
    } else if (local && !processAlive(w.pid, owner)) dead.add(owner)
  }
  return dead
}

function processAlive(pid: number, owner: string): boolean {
  return pid === process.pid ? localWorkers.has(owner) : pidAlive(pid)
}

/** Whether a process of this host has that pid (one we may not signal is alive too). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The workers serving `name` now, on every machine: those that have not said goodbye, less the
 * owners proven dead (a late heartbeat from a live process on this host is not proof: deadOwners).
 */
export async function liveWorkers(store: Store, knex: Knex, name: string): Promise<WorkerRow[]> {
  const serving = await store.workers.serving(knex, name)
  const dead = await deadOwners(
    knex,
    store,
    serving.map((w) => w.id),
    LEASE_MS,
  )
  return serving.filter((w) => !dead.has(w.id))
}

/**
 * Serves `runName` as `workerId` while `work` runs: a row with heartbeats, and the dialect's
 * presence mark, so that other processes can tell when this one dies (deadOwners).
 */
export async function whileAlive<T>(
  deps: { knex: Knex; store: Store; presence?: Presence; heartbeatMs: number; turn?: { quiet?: Promise<void> } },
  workerId: string,
  runName: string,
  work: () => Promise<T>,
): Promise<T> {
  const { knex, store, presence } = deps
  localWorkers.add(workerId)
  await store.workers.register(knex, workerId, runName)
  await presence?.markAlive(workerId)
  const beat = setInterval(() => {
    // Not while a batch's early read needs this connection to stay quiet (prefetch.ts).
    void Promise.resolve(deps.turn?.quiet)
      .then(() => store.workers.heartbeat(knex, workerId))
      .catch(() => {}) // a missed beat only shortens the lease others see
  }, deps.heartbeatMs)
  beat.unref()
  const leave = async () => {
    clearInterval(beat)
    localWorkers.delete(workerId)
    await sayGoodbye(store, knex, workerId)
    await presence?.markGone(workerId)
  }
  let result: T
  try {
    result = await work()
  } catch (err) {
    // The work's own error says what went wrong; a goodbye lost too (the database gone) must not replace it.
    await leave().catch(() => {})
    throw err
  }
  await leave()
  return result
}

const GOODBYE_ATTEMPTS = 10

/**
 * The worker's goodbye, retried through conflicts (a busy SQLite file): without it, a worker of a
 * process that lives on (a server, a second migration) keeps its row, and a live pid on this host
 * vouches for it to deadOwners for PID_VOUCHES_FOR_LEASES leases: its claims would wait that long.
 */
async function sayGoodbye(store: Store, knex: Knex, workerId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.workers.stop(knex, workerId)
    } catch (err) {
      if (store.dialect.classifyError(err) === null || attempt >= GOODBYE_ATTEMPTS) throw err
      await sleep(50 * attempt)
    }
  }
}
