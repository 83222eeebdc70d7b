// Command line of `npm run bench`.
import { parseArgs } from 'node:util'

export const SCENARIOS = ['throughput', 'live', 'memory', 'wide', 'scale', 'snapshot', 'coldstart', 'api'] as const
export type ScenarioName = (typeof SCENARIOS)[number]

export interface BenchOptions {
  quick: boolean
  /** Table size of the throughput, live-impact and scale-out scenarios. */
  rows: number
  /** The two table sizes of the memory scenario. */
  memoryRows: [number, number]
  /** Rows of ~1 MB in the wide-row memory scenario. */
  wideRows: number
  /** How long the app is measured with no migration running. */
  baselineSeconds: number
  /** Processes started per command by the cold-start scenario. */
  coldStartRuns: number
  sqlite: boolean
  scenarios: ScenarioName[]
}

export const USAGE = `usage: npm run bench [-- options]
  --quick          smoke run: 100,000 rows (memory: 100,000 and 400,000; wide rows: 300), a couple of minutes
  --rows N         table size (default 1,000,000; memory runs N and 4×N)
  --only LIST      comma-separated scenarios: ${SCENARIOS.join(', ')} (default: all)
  --no-sqlite      skip the SQLite throughput run
PostgreSQL: DATABASE_URL if set (a scratch database is created and dropped), else an embedded server.
A full run writes bench/results.json (--quick or --only: bench/results-partial.json); the table goes
to stdout, progress to stderr.`

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rows: { type: 'string' },
      only: { type: 'string' },
      'no-sqlite': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const rows = values.rows === undefined ? (values.quick ? 100_000 : 1_000_000) : Number(values.rows.replaceAll('_', ''))
  if (!Number.isInteger(rows) || rows < 1000) throw new Error(`--rows must be an integer ≥ 1000, got ${values.rows}`)
  const scenarios = values.only === undefined ? [...SCENARIOS] : values.only.split(',').map((s) => s.trim())
  const unknown = scenarios.filter((s) => !(SCENARIOS as readonly string[]).includes(s))
  if (unknown.length > 0) throw new Error(`--only: unknown scenario "${unknown[0]}" (known: ${SCENARIOS.join(', ')})`)
  return {
    quick: values.quick,
    rows,
    memoryRows: [rows, rows * 4],
    wideRows: values.quick ? 300 : 3000,
    baselineSeconds: values.quick ? 5 : 10,
    coldStartRuns: values.quick ? 5 : 15,
    sqlite: !values['no-sqlite'],
    scenarios: scenarios as ScenarioName[],
  }
}
