import type { Knex } from 'knex'
import type { Ledger } from '../app/ledger.ts'
import type { SeedCounts } from '../app/seed.ts'
import type { TrafficProcess } from '../app/traffic-client.ts'
import type { TrafficReport } from '../app/traffic.ts'
import type { StatusEntry } from './evolve-cli.ts'

/** What the steps share, and what they found out for the summary. */
export interface DemoContext {
  /** sqlite:<file> or postgres://… */
  db: string
  rows: number
  /** The app's requests per second. */
  rate: number
  /** The demo's own connection, for seeding and for the checks at the end. */
  knex: Knex
  /** The file that parks a batch of the runner for the kill (see holdIfAsked in app/audit.ts); the snapshot step's hold is this plus `.snapshot`. */
  holdFile: string
  say(line: string): void
  /** The demo's stdout is a terminal: `evolve run` draws its live progress there (see evolve-cli.ts). */
  live: boolean
  app?: TrafficProcess
  facts: Facts
}

export interface Facts {
  seeded?: SeedCounts
  /** Rows pending per migration before anything ran. */
  planned?: Record<string, number>
  /** Where the runner was killed: inside `batch`, with `doneAtKill` of `pending` rows done; whether the resumed run took that batch over. */
  kill?: { migration: string; batch: number | null; doneAtKill: number; pending: number; takenOver: boolean }
  /** What `assertDone` said while the killed migration was unfinished. */
  gateHeld?: string
  /** The read-only run: the banner the app showed, writes refused meanwhile and, of those, accepted after. */
  readOnly?: { migration: string; banner: string; refused: number; retriedOk: number }
  /** The snapshot run: its read-only window, what the app did meanwhile, and the backup it left. */
  snapshot?: SnapshotFacts
  schemaChanged?: boolean
  runs?: StatusEntry[]
  app?: TrafficReport
  ledger?: Ledger
  lostWrites?: string[]
  evolvedTwice?: Record<string, number>
  /** Rows still in the old shape (or out of step with their source) after everything, per check. */
  outOfShape?: Record<string, number>
}

export interface SnapshotFacts {
  migration: string
  table: string
  /** Rows of the table evolved in the copy and swapped in. */
  rows: number
  readOnlyMs: number
  /** The app's reads while the run lasted, and how many failed or saw an incomplete table (must be 0). */
  reads: number
  readerErrors: number
  /** The app's writes refused during the read-only window, and of those accepted after it. */
  refused: number
  retriedOk: number
  backup: string
  /** Rows in the backup: the table as it was when the copy began. */
  backupRows: number
}

/** One thing the demo shows. Steps run in order; each reads and adds to the context. */
export interface Step {
  title: string
  run(ctx: DemoContext): Promise<void>
}

/** Resolves once `check` is true, asking every `everyMs`; rejects after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
