import type { EvolveEvents } from '../core/events.ts'

// The names of every event the admin object's emitter sends, for front ends that forward them all
// (`evolve run --json`, the terminal UI's thread). From here rather than the package's main entry,
// which would load everything (metrics, logging) before `--help` can print.
export { EVENT_NAMES } from '../core/events.ts'

/** An event of `evolve.events` (a Runner's `events`): `'run:end'`, `'batch:done'`, … */
export type EvolveEventName = keyof EvolveEvents

/** A listener of one event: called with that event's payload. */
export type EvolveListener<E extends EvolveEventName> = (...payload: EvolveEvents[E]) => void

// The emitter's methods, typed by the event map here rather than by @types/node's generic
// EventEmitter: since @types/node 25 (the version an app installs today) that one accepts any
// string as an event name (`on('run:ended', …)` compiled and never fired); from 20.11 to 24 it
// refused a typo only through its listener (typed `never`, naming no event) and took any name in
// listenerCount and removeAllListeners; before 20.11 it was not generic at all. lib/core keeps its plain class; this file is loaded with the admin
// object's types (evolve-types.ts re-exports from it), so every consumer of them sees these.
// Each `never` overload only keeps the merged interface assignable to @types/node's own
// signatures (a declaration check under skipLibCheck: false); no call can match it.
declare module '../core/events.js' {
  interface EvolveEmitter {
    on<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
    on(event: never, listener: never): this
    once<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
    once(event: never, listener: never): this
    off<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
    off(event: never, listener: never): this
    addListener<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
    addListener(event: never, listener: never): this
    removeListener<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
    removeListener(event: never, listener: never): this
    prependListener<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
    prependListener(event: never, listener: never): this
    prependOnceListener<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
    prependOnceListener(event: never, listener: never): this
    emit<E extends EvolveEventName>(event: E, ...payload: EvolveEvents[E]): boolean
    emit(event: never, ...payload: never): boolean
    listenerCount<E extends EvolveEventName>(event: E, listener?: EvolveListener<E>): number
    listenerCount(event: never, listener?: never): number
    removeAllListeners(event?: EvolveEventName): this
  }
}
