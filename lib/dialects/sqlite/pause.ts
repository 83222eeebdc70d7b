/**
 * When a writer waiting on SQLite's lock (busy_timeout, SQLite's default busy handler) tries
 * again, in ms after its first try: it sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 ms, then
 * 100 ms at a time.
 */
export const TRIES_AT_MS = [0, 1, 3, 8, 18, 33, 53, 78, 103, 128, 178, 228]
const LAST_TRY_MS = TRIES_AT_MS[TRIES_AT_MS.length - 1]!
/** After the last listed try it sleeps 100 ms between tries: the pause is a little longer. */
const LONG_PAUSE_MS = 110

/**
 * How long the lock is left free after a batch of `batchMs`: as long as the longest gap between a
 * waiting writer's tries that can straddle the batch's end. A writer that came during the batch
 * has waited less than `batchMs`, so its tries before the end were at most `batchMs` apart from
 * its first, and its next one falls in the pause: every such writer (the app, `evolve pause`)
 * gets in. Back-to-back batches would starve it; a longer pause only idles the run.
 * 15 ms after a 25 ms batch, 25 ms after a 75 ms one, 110 ms after one of 228 ms or more.
 */
export function sqlitePauseAfterBatchMs(batchMs: number): number {
  if (batchMs >= LAST_TRY_MS) return LONG_PAUSE_MS
  let gap = 0
  for (let i = 0; i + 1 < TRIES_AT_MS.length && TRIES_AT_MS[i]! < batchMs; i++) gap = TRIES_AT_MS[i + 1]! - TRIES_AT_MS[i]!
  return gap
}
