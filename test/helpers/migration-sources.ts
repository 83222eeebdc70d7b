// Sources of migration files, written by tests into temp directories (see files.ts).
import { TABLE } from './tables.ts'

/**
 * The source of a migration file: `spec` is the object literal handed to defineMigration,
 * `prelude` any code above it (imports, helpers).
 */
export function migrationSource(spec: string, prelude = ''): string {
  return `import { defineMigration } from 'evolvekit'\n${prelude}\nexport default defineMigration(${spec})\n`
}

export interface UpMigrationOptions {
  /** Starting (or fixed) batch size written into the file. */
  batchSize: number
  /** Sleep at the start of every batch, inside its transaction. */
  sleepPerBatchMs?: number
  /** Sleep per row of the batch, so a bigger batch takes proportionally longer. */
  sleepPerRowMs?: number
  /** With this file present, every batch sleeps this long more: `[path, ms]`. Delete it to speed up. */
  slowWhile?: [file: string, ms: number]
  /**
   * `[path, key]`: a batch whose first row's id is above `key` waits, inside its transaction,
   * while the file exists. The test then sees which workers hold a claim, and deletes the
   * file to let them all go on.
   */
  gate?: [file: string, afterKey: number]
}

/** An `up` migration without `pending` that adds 1 to `counter` of every row of its batch. */
export function upMigration(o: UpMigrationOptions): string {
  const [slowFile, slowMs] = o.slowWhile ?? [null, 0]
  const [gateFile, gateAfter] = o.gate ?? [null, 0]
  return `import { existsSync } from 'node:fs'
import { defineMigration } from 'evolvekit'

export default defineMigration({
  table: '${TABLE}',
  batchSize: ${o.batchSize},
  up: async (rows, { trx }) => {
    const gate = ${JSON.stringify(gateFile)}
    if (gate && rows[0].id > ${gateAfter}) while (existsSync(gate)) await new Promise((resolve) => setTimeout(resolve, 20))
    const slow = ${JSON.stringify(slowFile)}
    const ms = ${o.sleepPerBatchMs ?? 0} + ${o.sleepPerRowMs ?? 0} * rows.length + (slow && existsSync(slow) ? ${slowMs} : 0)
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
    await trx('${TABLE}').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
  },
})
`
}

/** A `set` migration without `pending`: one fast UPDATE per batch, `counter = counter + 1`. */
export function setMigration(batchSize: number): string {
  return `import { defineMigration } from 'evolvekit'

export default defineMigration({
  table: '${TABLE}',
  batchSize: ${batchSize},
  set: { counter: (knex) => knex.raw('counter + 1') },
})
`
}

/** The line a gated migration prints once it parks the batch holding `key`. */
export const heldLine = (key: number) => `[gate] holding key ${key}\n`

/**
 * TypeScript source for a migration file: `await gate(keys)` parks the batch while the
 * gate file names one of `keys`, printing `heldLine(key)` once, and returns when the gate
 * names another key or is removed. Anything done on ctx.trx before it is uncommitted
 * while the batch is parked, so a kill -9 then lands inside the batch transaction.
 */
export function gateSource(gateFile: string): string {
  return `
import { readFileSync } from 'node:fs'
const GATE_FILE = ${JSON.stringify(gateFile)}
function gateKey(): number | null {
  try {
    const text = readFileSync(GATE_FILE, 'utf8').trim()
    return text === '' ? null : Number(text)
  } catch {
    return null
  }
}
async function gate(keys: number[]): Promise<void> {
  const key = gateKey()
  if (key === null || !keys.includes(key)) return
  process.stdout.write('[gate] holding key ' + key + '\\n')
  while (gateKey() === key) await new Promise((r) => setTimeout(r, 10))
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
`
}

/**
 * Lower-cases every users e-mail a row at a time, parking the batch that holds a key the gate
 * names (Workspace.hold); `snapshot` runs it on a copy, `sleepMs` slows each row.
 */
export function gatedLowercaseMigration(gateFile: string, o: { snapshot?: boolean; sleepMs?: number; batchSize?: number } = {}): string {
  return `import { defineMigration } from 'evolvekit'
${gateSource(gateFile)}
export default defineMigration({
  description: 'lower-case every e-mail address',${o.snapshot ? "\n  mode: 'snapshot'," : ''}
  table: 'users',
  pending: (q) => q.whereRaw('email <> lower(email)'),
  async transform(row) {
    await gate([row.id as number])${o.sleepMs ? `\n    await sleep(${o.sleepMs})` : ''}
    return { email: (row.email as string).toLowerCase() }
  },${o.batchSize ? `\n  batchSize: ${o.batchSize},` : ''}
})
`
}
