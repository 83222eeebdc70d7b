import type { Evolve } from '../lib/api/evolve.ts'
import { EVENT_NAMES } from '../lib/api/events.ts'

const TICK_MS = 1000

/** One JSON line on stdout. */
export function writeJson(value: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/**
 * `evolve run --json`: every core event as one JSON line `{ "event": name, "at": ISO, ...payload }`,
 * and a `progress` line per run at most once a second while batches go on. The caller writes
 * the final `summary` line; nothing else goes to stdout.
 */
export function printJsonEvents(evolve: Evolve): void {
  const events = evolve.events as unknown as NodeJS.EventEmitter
  for (const name of EVENT_NAMES) {
    events.on(name, (data: Record<string, unknown>) => writeJson({ event: name, at: new Date().toISOString(), ...data }))
  }
  const last = new Map<string, number>()
  const tick = ({ run }: { run: string }) => {
    if (Date.now() - (last.get(run) ?? 0) < TICK_MS) return
    last.set(run, Date.now())
    evolve.progress(run).then(
      (p) => writeJson({ event: 'progress', at: new Date().toISOString(), ...p }),
      () => {},
    )
  }
  evolve.events.on('batch:done', tick)
  evolve.events.on('throttled', tick)
}
