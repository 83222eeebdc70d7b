// The names of every event the admin object's emitter sends, for front ends that forward them all
// (`evolve run --json`, the terminal UI's thread). From here rather than the package's main entry,
// which would load everything (metrics, logging) before `--help` can print.
export { EVENT_NAMES } from '../core/events.ts'
export { throttleHold } from '../core/throttle.ts'

export type { EvolveEventName, EvolveListener } from '../core/events.ts'
