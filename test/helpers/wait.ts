// The one way a test waits: on a condition, polled, with a deadline that only turns a hang
// into a failure. It is not a speed check: it is generous enough for a loaded machine.
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `probe` until it returns a truthy value and returns that value. A probe that throws
 * fails the wait at once (e.g. "the process exited"), so a probe that may run before the
 * tracking tables exist must check for them itself (the readers in tracking.ts do).
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  { timeoutMs = 120_000, everyMs = 25 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
