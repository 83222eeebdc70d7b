import type { Knex } from 'knex'
import type { EvolveEmitter } from '../lib/core/events.ts'
import { getProgress } from '../lib/core/progress.ts'
import { progressLine } from './format.ts'

const PRINT_EVERY_MS = 1000

/** Plain progress lines (the `pretty` log format): at most one progress line a second. */
export function printProgress(events: EvolveEmitter, knex: Knex): void {
  let last = 0
  const tick = ({ run }: { run: string }) => {
    if (Date.now() - last < PRINT_EVERY_MS) return
    last = Date.now()
    getProgress(knex, run).then(
      (p) => console.log(progressLine(p)),
      () => {},
    )
  }
  events.on('batch:done', tick)
  events.on('throttled', tick)
  events.on('run:start', ({ run, state, total, resumed }) => {
    const verb = state === 'paused' ? 'paused: waiting for `evolve resume`' : resumed ? 'resuming' : 'starting'
    const pending = total === null ? '' : resumed ? ` (${total} rows were pending when it started)` : `, ${total} rows pending`
    console.log(`${run}: ${verb}${pending}`)
  })
  events.on('run:skip', ({ run, state, reason }) => console.log(`${run}: ${state}, skipped (${reason})`))
  events.on('object:failed', ({ run, key, error }) => console.log(`${run}: object ${JSON.stringify(key)} failed: ${error}`))
  events.on('sweep', ({ run, pass, pending }) =>
    console.log(`${run}: sweep ${pass}: ${pending} rows still pending (written in the old shape meanwhile)`),
  )
  events.on('batch:takeover', ({ run, batchId }) => console.log(`${run}: took over batch ${batchId} from a dead worker`))
  events.on('run:end', ({ run, error }) => {
    if (error) console.log(`${run}: ${error}`)
  })
}
