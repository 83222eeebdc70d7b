// Reads `evolve run --log-format json` line by line: plain progress lines for the reader,
// and the rows done per migration so far, for the step that kills the runner.

/** One entry of the CLI's JSON log (the fields the demo reads). */
interface LogEntry {
  event?: string
  run?: string
  rows?: number
  resumed?: boolean
  total?: number | null
  state?: string
  done?: number
  pass?: number
  pending?: number
  batchId?: number
  reason?: string
}

export class RunWatcher {
  /** Rows evolved per migration by this process, as its batch:done events say. */
  readonly rows: Record<string, number> = {}
  /** Batches this process took over from a dead worker. */
  readonly takenOver: number[] = []
  private lastPrint = 0

  constructor(
    private readonly say: (line: string) => void,
    private readonly onBatch: (run: string, rowsSoFar: number) => void = () => {},
  ) {}

  line = (text: string): void => {
    let e: LogEntry
    try {
      e = JSON.parse(text) as LogEntry
    } catch {
      this.say(`  ${text}`)
      return
    }
    const run = e.run ?? ''
    switch (e.event) {
      case 'run:start':
        this.say(`  ${run}: ${e.resumed ? 'resuming' : 'starting'}${e.total == null ? '' : ` (${e.total} rows)`}`)
        break
      case 'run:skip':
        this.say(`  ${run}: skipped (${e.reason})`)
        break
      case 'batch:done':
        this.rows[run] = (this.rows[run] ?? 0) + (e.rows ?? 0)
        if (Date.now() - this.lastPrint >= 1000) {
          this.lastPrint = Date.now()
          this.say(`  ${run}: ${this.rows[run]} rows evolved by this runner`)
        }
        this.onBatch(run, this.rows[run]!)
        break
      case 'batch:takeover':
        this.takenOver.push(e.batchId!)
        this.say(`  ${run}: took over batch ${e.batchId} from a dead worker`)
        break
      case 'batch:retry':
        this.say(`  ${run}: batch retried (${e.reason})`)
        break
      case 'sweep':
        this.say(`  ${run}: sweep ${e.pass}: ${e.pending} rows written in the old shape meanwhile`)
        break
      case 'run:end':
        this.say(`  ${run}: ${e.state}, ${e.done} rows evolved in all`)
        break
    }
  }
}
