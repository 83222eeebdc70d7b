// The app's reader during the snapshot scenario, in a process of its own (SQLite's driver is
// synchronous: in the bench's process a long copy statement would stall the reader for reasons
// that have nothing to do with the database). Point reads by random key until SIGTERM, then one
// JSON line: how many reads, errors, the longest, and every read slower than 2 ms with its start.
import Database from 'better-sqlite3'
import pg from 'pg'

const [dialect, target, rowsText] = process.argv.slice(2)
const rows = Number(rowsText)
let stop = false
process.on('SIGTERM', () => (stop = true))

const read =
  dialect === 'postgres'
    ? await (async () => {
        const client = new pg.Client({ connectionString: target })
        await client.connect()
        return (id) => client.query('SELECT email FROM users WHERE id = $1', [id])
      })()
    : (() => {
        const db = new Database(target, { readonly: true })
        db.pragma('busy_timeout = 5000')
        return async (id) => db.prepare('SELECT email FROM users WHERE id = ?').get(id)
      })()

const slow = []
let reads = 0
let errors = 0
let longest = 0
process.stdout.write('ready\n')
while (!stop) {
  const start = Date.now()
  const t0 = performance.now()
  try {
    await read(1 + Math.floor(Math.random() * rows))
  } catch {
    errors++
  }
  const ms = performance.now() - t0
  reads++
  longest = Math.max(longest, ms)
  if (ms > 2) slow.push([start, ms])
  await new Promise((r) => setImmediate(r))
}
process.stdout.write(`${JSON.stringify({ reads, errors, longest, slow })}\n`)
process.exit(0)
