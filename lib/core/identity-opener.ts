// Who last opened a run, stored with its definition (identity.ts recordDefinition). Two runners with
// different code starting at the same moment (a rolling deploy) both found no live worker of the
// other, and both served the run. Opening now stores the code and who opens it in one step under
// the run row's lock, so the second to arrive sees the first before the first's workers show up.
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Knex } from 'knex'
import type { Run } from '../store/runs.ts'
import type { Store } from '../store/store.ts'
import { type Definition, encodeDefinition } from './definition.ts'
import { openedRefusal, servedRefusal } from './identity-messages.ts'
import { LEASE_MS, liveWorkers, pidAlive } from './liveness.ts'
import type { Migration } from './migration.ts'

/** A process that opened a run: where, and when by the database's clock (ms). */
export interface Opener {
  host: string
  pid: number
  at: number
  /** This process among all: containers sharing a host name each run node as pid 1. */
  process?: string
}

const PROCESS = randomUUID()

/** The definition as stored on the run, with who opens it (decodeDefinition reads the definition alone). */
export function encodeOpened(d: Definition, opener: Opener): string {
  return encodeDefinition({ ...d, opened: opener } as Definition)
}

/** Who last opened the run, from its stored definition; undefined when none says (an older version). */
export function openerOf(run: Run): Opener | undefined {
  try {
    const o = (JSON.parse(run.definition ?? 'null') as { opened?: Partial<Opener> } | null)?.opened
    return typeof o?.host === 'string' && typeof o.pid === 'number' && typeof o.at === 'number' ? (o as Opener) : undefined
  } catch {
    return undefined
  }
}

/** This process, opening a run now (`at`: the database's clock). */
export const thisOpener = (at: number): Opener => ({ host: hostname(), pid: process.pid, at, process: PROCESS })

/**
 * Refuses (E_MIGRATION_CHANGED) to serve `run` with other code than it is served with: live workers
 * serve it, or another process opened it less than a lease ago (its workers may not be registered
 * yet) and is not known to be gone. Called inside the transaction that holds the run row.
 */
export async function assertNotServedOtherwise(store: Store, trx: Knex.Transaction, m: Migration, run: Run): Promise<void> {
  const serving = await liveWorkers(store, trx, m.name)
  if (serving.length > 0) throw servedRefusal(m, serving)
  const opener = openerOf(run)
  if (!opener || isThisProcess(opener)) return
  const ageMs = (await store.now(trx)) - opener.at
  // On this host a vanished pid proves the opener gone (a runner killed at once); elsewhere its lease must pass.
  if (ageMs < LEASE_MS && !(opener.host === hostname() && !pidAlive(opener.pid))) throw openedRefusal(m, opener, ageMs)
}

/** By its process id where the opener stored one; an opener that did not, by host and pid. */
function isThisProcess(opener: Opener): boolean {
  return opener.process !== undefined ? opener.process === PROCESS : opener.host === hostname() && opener.pid === process.pid
}
