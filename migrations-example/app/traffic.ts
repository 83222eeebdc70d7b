// The simulated users: requests at a steady rate, counted honestly. A write the database
// refuses (read-only) waits and is submitted again; a conflict is retried at once, as an
// app's data layer would; anything else is an error.
import { isReadOnlyError } from 'evolvekit'
import type { Knex } from 'knex'
import { type Ledger, emptyLedger } from './ledger.ts'
import { type AppRequest, type AppState, type Attempt, REQUESTS } from './requests.ts'
import type { AppVersion } from './shapes.ts'

export interface TrafficOptions {
  knex: Knex
  /** Requests per second. */
  rate: number
  /**
   * Whether an error is the database refusing writes (read-only). Such writes are kept and
   * submitted again every `retryEveryMs` until accepted. Default: evolvekit's `isReadOnlyError`
   * (SQLSTATE 25006 on PostgreSQL, the read-only guard's ABORT on SQLite).
   */
  isWriteRefused?: (err: unknown) => boolean
  retryEveryMs?: number
}

export interface TrafficReport {
  version: AppVersion
  /** Requests that completed: reads served plus writes accepted. */
  served: number
  reads: number
  writes: number
  errors: number
  /** Of the errors, those of reads (page views, searches, the front page's count of every comment). */
  readErrors: number
  /** The first few error messages, to say what went wrong. */
  errorSamples: string[]
  /** Deadlocks, serialization failures and busy databases the app retried and got through. */
  conflictsRetried: number
  /** Writes the database refused at least once (read-only). */
  writesRefused: number
  /** Of those, writes accepted on a later try. */
  writesRetriedOk: number
  /** Refused writes still waiting for their next try. */
  writesWaiting: number
  /** What the database answered the last refused write, or null. */
  lastRefusal: string | null
  /** Per request name, how many completed. */
  byRequest: Record<string, number>
  latencyMs: { p50: number; p99: number; max: number }
}

const CONFLICT = /^(40P01|40001|55P03|SQLITE_BUSY.*|SQLITE_LOCKED.*)$/

export class Traffic {
  version: AppVersion = 'v1'
  private readonly app: AppState
  private readonly counts = {
    served: 0,
    reads: 0,
    writes: 0,
    errors: 0,
    readErrors: 0,
    conflictsRetried: 0,
    writesRefused: 0,
    writesRetriedOk: 0,
  }
  private readonly errorSamples: string[] = []
  private lastRefusal: string | null = null
  private readonly byRequest: Record<string, number> = {}
  private readonly latencies: number[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private readonly waiting: { request: AppRequest; attempt: Attempt }[] = []
  private timers: NodeJS.Timeout[] = []
  private seq = 0
  private retrying = false

  constructor(private readonly options: TrafficOptions) {
    this.app = {
      knex: options.knex,
      ledger: emptyLedger(),
      max: { users: 0, documents: 0 },
      editing: new Set(),
      commentsSeen: 0,
      next: () => ++this.seq,
    }
  }

  get ledger(): Ledger {
    return this.app.ledger
  }

  async start(): Promise<void> {
    const max = async (table: string) => Number((await this.options.knex(table).max({ m: 'id' }).first())?.m ?? 0)
    this.app.max = { users: await max('users'), documents: await max('documents') }
    this.timers.push(setInterval(() => this.track(this.serveOne()), 1000 / this.options.rate))
    this.timers.push(setInterval(() => this.track(this.retryWaiting()), this.options.retryEveryMs ?? 250))
  }

  /** Switches to the new version; resolves once no request of the old one is in flight. */
  async deploy(version: AppVersion = 'v2'): Promise<void> {
    this.version = version
    await this.drain()
  }

  /** Stops taking new requests, finishes those in flight and gives refused writes a last try. */
  async stop(): Promise<TrafficReport> {
    this.timers.forEach(clearInterval)
    this.timers = []
    await this.drain()
    await this.retryHead()
    for (const { attempt } of this.waiting) attempt.release?.()
    return this.report()
  }

  report(): TrafficReport {
    const sorted = [...this.latencies].sort((a, b) => a - b)
    const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0)
    return {
      version: this.version,
      ...this.counts,
      errorSamples: [...this.errorSamples],
      writesWaiting: this.waiting.length,
      lastRefusal: this.lastRefusal,
      byRequest: { ...this.byRequest },
      latencyMs: { p50: at(0.5), p99: at(0.99), max: at(1) },
    }
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work)
    void work.finally(() => this.inFlight.delete(work))
  }

  private pick(): AppRequest {
    const total = REQUESTS.reduce((sum, r) => sum + r.weight, 0)
    let n = Math.random() * total
    for (const r of REQUESTS) if ((n -= r.weight) < 0) return r
    return REQUESTS[0]!
  }

  private async serveOne(): Promise<void> {
    const request = this.pick()
    const attempt = request.prepare(this.app)
    const outcome = await this.execute(request, attempt)
    if (outcome === 'refused') {
      this.counts.writesRefused++
      this.waiting.push({ request, attempt })
    } else attempt.release?.()
  }

  private async retryWaiting(): Promise<void> {
    // One retrier at a time, oldest write first: a timer tick during a slow retry skips.
    if (this.retrying) return
    this.retrying = true
    try {
      await this.retryHead()
    } finally {
      this.retrying = false
    }
  }

  private async retryHead(): Promise<void> {
    while (this.waiting.length > 0) {
      const { request, attempt } = this.waiting[0]!
      if ((await this.execute(request, attempt)) === 'refused') return // still read-only: try again later
      this.waiting.shift()
      attempt.release?.()
      this.counts.writesRetriedOk++
    }
  }

  /** One request, conflicts retried; counts what happened. */
  private async execute(request: AppRequest, attempt: Attempt): Promise<'ok' | 'refused' | 'error'> {
    const started = performance.now()
    for (let tries = 1; ; tries++) {
      try {
        await attempt.run(this.version)
        this.latencies.push(performance.now() - started)
        this.counts.served++
        this.counts[request.write ? 'writes' : 'reads']++
        this.byRequest[request.name] = (this.byRequest[request.name] ?? 0) + 1
        return 'ok'
      } catch (err) {
        if (request.write && (this.options.isWriteRefused ?? isReadOnlyError)(err)) {
          this.lastRefusal = (err as Error).message
          return 'refused'
        }
        if (tries < 5 && CONFLICT.test(String((err as { code?: unknown }).code))) {
          this.counts.conflictsRetried++
          await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** tries))
          continue
        }
        this.counts.errors++
        if (!request.write) this.counts.readErrors++
        if (this.errorSamples.length < 5) this.errorSamples.push(`${request.name}: ${(err as Error).message}`)
        return 'error'
      }
    }
  }
}
