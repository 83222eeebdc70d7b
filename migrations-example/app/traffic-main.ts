/**
 * The live app as its own process, so the demo can kill the runner and the app keeps
 * serving. Started by `startTraffic` (traffic-client.ts) with an IPC channel:
 *
 *   parent → app: { type: 'report' } | { type: 'deploy', version } | { type: 'stop' }
 *   app → parent: { type: 'ready' } | { type: 'report', report } | { type: 'deployed', report }
 *                 | { type: 'banner', message } | { type: 'final', report, ledger }
 *
 * The final report is also printed on stdout as one JSON line. If the parent goes away
 * (the IPC channel closes), the app stops too: it never outlives the demo.
 *
 * Flags: --db <url> (sqlite:<file> or postgres://…), --rate <requests per second>.
 *
 * Writes the database refuses because read-only mode is on (`isReadOnlyError`) are kept and
 * retried later (traffic.ts). The app also follows the read-only switch the way a real one
 * renders its banner: `createReadOnlySwitch(knex)`, and each change is logged to the parent
 * once as `{ type: 'banner', message }` (null when read-only goes off).
 */
import { createReadOnlySwitch } from 'evolvekit'
import { parseArgs } from 'node:util'
import { connect } from './connect.ts'
import { Traffic } from './traffic.ts'

const { values } = parseArgs({
  options: { db: { type: 'string' }, rate: { type: 'string', default: '40' } },
})
if (!values.db) throw new Error('traffic: --db <url> is required')

const knex = connect(values.db)
const traffic = new Traffic({ knex, rate: Number(values.rate) })
const send = (message: object) => process.send?.(message)
// The banner's data: no query per request, the switch follows the state by itself.
const readOnly = createReadOnlySwitch(knex)
readOnly.on('change', (state) => send({ type: 'banner', message: state.readOnly ? state.message : null }))

let stopping: Promise<void> | undefined
function stop(): Promise<void> {
  stopping ??= (async () => {
    const report = await traffic.stop()
    await readOnly.close()
    await knex.destroy()
    process.stdout.write(`${JSON.stringify({ type: 'final', report })}\n`)
    // Sent before the channel closes; without a parent there is nobody to tell.
    if (process.send && process.connected) process.send({ type: 'final', report, ledger: traffic.ledger }, () => process.disconnect())
  })()
  return stopping
}

process.on('message', (message: { type: string; version?: 'v1' | 'v2' }) => {
  if (message.type === 'report') send({ type: 'report', report: traffic.report() })
  else if (message.type === 'deploy') void traffic.deploy(message.version).then(() => send({ type: 'deployed', report: traffic.report() }))
  else if (message.type === 'stop') void stop()
})
process.on('disconnect', () => void stop())
process.on('SIGTERM', () => void stop())

await readOnly.ready
await traffic.start()
send({ type: 'ready' })
