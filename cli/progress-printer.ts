import type { Evolve } from '../lib/api/evolve.ts'
import { progressLine } from './format.ts'

const PRINT_EVERY_MS = 1000

/** Plain progress lines (the `pretty` log format): at most one progress line a second. */
export function printProgress(evolve: Evolve): void {
  const { events } = evolve
  let last = 0
  const tick = ({ run }: { run: string }) => {
    if (Date.now() - last < PRINT_EVERY_MS) return
    last = Date.now()
    evolve.progress(run).then(
      (p) => console.log(progressLine(p)),
      () => {},
    )
  }
  events.on('batch:done', tick)
  events.on('throttled', tick)
  events.on('run:start', ({ run, state, total, resumed }) => {
    const verb = state === 'paused' ? 'paused: waiting for `evolve resume`' : resumed ? 'resuming' : 'starting'
    // A new run's total is counted beside its first batches: run:total prints it.
    const pending = total === null ? '' : resumed ? ` (${total} rows were pending when it started)` : `, ${total} rows pending`
    console.log(`${run}: ${verb}${pending}`)
  })
  events.on('run:total', ({ run, total, error }) =>
    console.log(
      total === null ? `${run}: could not count the rows pending (${error}); it goes on without a total` : `${run}: ${total} rows pending`,
    ),
  )
  events.on('run:skip', ({ run, state, reason }) => console.log(`${run}: ${state}, skipped (${reason})`))
  events.on('object:failed', ({ run, key, error }) => console.log(`${run}: object ${JSON.stringify(key)} failed: ${error}`))
  events.on('sweep', ({ run, pass, pending }) =>
    console.log(`${run}: sweep ${pass}: ${pending} rows still pending (written in the old shape meanwhile)`),
  )
  events.on('snapshot:step', ({ run, step, table }) => console.log(`${run}: snapshot of ${table}: ${step}`))
  // A readonly-mode run turns the switch on and off: the app's writes fail meanwhile, so say when.
  events.on('read-only', (state) =>
    console.log(
      state.readOnly
        ? `read-only: on for ${state.tables?.join(', ') ?? 'every table'} (by ${state.by}): the app's writes there are refused`
        : "read-only: off: the app's writes go through again",
    ),
  )
  events.on('batch:takeover', ({ run, batchId }) => console.log(`${run}: took over batch ${batchId} from a dead worker`))
  // Every way a run ends says why: finished, failed at maxFailures, still written in the old shape.
  events.on('run:end', ({ run, state, error }) => console.log(error ? `${run}: ${state}: ${error}` : `${run}: ${state}`))
}
