import { EVENT_NAMES, type Evolve, type RunHandle, type RunProgress } from '../../lib/index.ts'
import { snapshotOfShadow } from '../../lib/api/evolve.ts'
import { errorMessage } from '../../lib/errors.ts'
import { readOnlyOf, type ReadOnlyState, type UiEvent, type UiRow, type UiSnapshot } from './admin.ts'

/** problemOf's answer for a name the database knows but this migrations directory has no file for. */
const NO_FILE = Symbol('no file')

/** Each copy run right under its snapshot run (names sort `x_y` before `x.shadow` otherwise). */
function copiesUnderTheirRuns(rows: UiRow[]): UiRow[] {
  const names = new Set(rows.map((r) => r.name))
  const copies = rows.filter((r) => r.copyOf !== null && names.has(r.copyOf))
  const out = rows.filter((r) => !copies.includes(r))
  for (const copy of copies) out.splice(out.findIndex((r) => r.name === copy.copyOf) + 1, 0, copy)
  return out
}

/**
 * The UI's side of the admin layer, next to one `Evolve`: builds the dashboard's snapshot,
 * keeps the run handles started from the UI, and passes every event on.
 */
export class UiBackend {
  private readonly handles = new Map<string, RunHandle>()
  private readonly problems = new Map<string, string | typeof NO_FILE | null>()
  private readonly stopWatch: () => void

  constructor(
    private readonly evolve: Evolve,
    private readonly emit: (e: UiEvent) => void,
  ) {
    const events = evolve.events as unknown as NodeJS.EventEmitter
    for (const name of EVENT_NAMES) events.on(name, (data: Record<string, unknown>) => emit({ name, data, at: Date.now() }))
    this.stopWatch = evolve.watch({ intervalMs: 1000 })
  }

  get hasReadOnly(): boolean {
    return readOnlyOf(this.evolve) !== undefined
  }

  async snapshot(): Promise<UiSnapshot> {
    // Every run's progress in one call: progress(name) for each would list the names again for each.
    let all: RunProgress[]
    try {
      all = await this.evolve.status()
    } catch (err) {
      return { rows: [], problem: errorMessage(err), readOnly: await this.readOnlyState() }
    }
    const rows: UiRow[] = []
    for (const progress of all) {
      const { name } = progress
      const handle = this.handles.get(name)
      const problem = await this.problemOf(name)
      // A run without a file here is no broken file: a snapshot run's copy, or another --dir's migration.
      const noFile = problem === NO_FILE
      rows.push({
        name,
        progress,
        problem: typeof problem === 'string' ? problem : null,
        noFile,
        copyOf: noFile ? (snapshotOfShadow(name) ?? null) : null,
        workers: (await this.evolve.workers(name)).map(({ host, pid }) => ({ host, pid })),
        local: handle !== undefined,
        localBatchSize: handle?.batchSize ?? null,
      })
    }
    const problem = all.length === 0 ? `no migrations in ${this.evolve.migrationsDir ?? './migrations'}` : null
    return { rows: copiesUnderTheirRuns(rows), problem, readOnly: await this.readOnlyState() }
  }

  /** A file that fails to load or validate is named once per session (imports are cached anyway). */
  private async problemOf(name: string): Promise<string | typeof NO_FILE | null> {
    if (!this.problems.has(name)) {
      const problem = await this.evolve.migrations([name]).then(
        () => null,
        (err) => ((err as { code?: unknown }).code === 'E_UNKNOWN_MIGRATION' ? NO_FILE : errorMessage(err)),
      )
      this.problems.set(name, problem)
    }
    return this.problems.get(name) ?? null
  }

  private async readOnlyState(): Promise<ReadOnlyState | null> {
    const ro = readOnlyOf(this.evolve)
    return ro ? ro.status().catch(() => null) : null
  }

  async run(name: string): Promise<void> {
    this.track(name, await this.evolve.run([name]))
  }

  async retry(name: string): Promise<void> {
    this.track(name, await this.evolve.retry(name))
  }

  private track(name: string, handle: RunHandle): void {
    if (this.handles.has(name)) throw new Error(`${name} already runs in this process`)
    this.handles.set(name, handle)
    handle.done.then(
      (results) => this.ended(name, { state: results[0]?.state ?? 'stopped', error: null }),
      (err) => this.ended(name, { state: 'error', error: errorMessage(err) }),
    )
  }

  private ended(name: string, data: { state: string; error: string | null }): void {
    this.handles.delete(name)
    this.emit({ name: 'local:end', data: { run: name, ...data }, at: Date.now() })
  }

  pause = (name: string) => this.evolve.pause(name)
  resume = (name: string) => this.evolve.resume(name)
  cancel = (name: string) => this.evolve.cancel(name)

  async scaleBatchSize(name: string, factor: number): Promise<{ size: number; cap: number | null }> {
    const handle = this.handles.get(name)
    if (!handle) throw new Error('+/- changes the batch size of a run driven here: press r to run it in this process')
    const now = handle.batchSize
    if (now === null) throw new Error('no worker is running a batch yet: try again in a moment')
    return { size: handle.setBatchSize(Math.max(1, Math.round(now * factor))), cap: handle.batchCap }
  }

  failures = (name: string, opts: { limit: number; after?: unknown }) => this.evolve.failures(name, opts)

  async setReadOnly(on: boolean, message?: string, duration?: string): Promise<ReadOnlyState> {
    const ro = readOnlyOf(this.evolve)
    if (!ro) throw new Error('read-only switch not available in this build')
    return on ? ro.enable({ message, for: duration }) : ro.disable()
  }

  async stopAll(): Promise<void> {
    const running = [...this.handles.values()]
    for (const h of running) h.stop()
    await Promise.allSettled(running.map((h) => h.done))
  }

  async close(): Promise<void> {
    this.stopWatch()
    await this.stopAll()
    await this.evolve.close()
  }
}
