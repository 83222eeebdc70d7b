// How much of the time any fixed lock schedule can hold SQLite's write lock while still letting
// every waiting writer in within 100 ms (not part of `npm run bench`; arithmetic, no database):
//   npx tsx bench/sqlite-lock-schedule.ts
// A writer whose statement meets the lock retries at the busy handler's times (TRIES_AT_MS, the
// same table the pause rule uses). A schedule holds the lock `hold` ms, leaves it `period - hold`
// ms, and repeats; a writer arrives at any moment of it. It gets in when one of its tries up to
// 78 ms (the last that leaves time for its own write before 100 ms) lands at least `margin` ms
// inside a free gap (the margin stands for sleeps that overshoot and a process not scheduled at
// once). For each margin this prints the schedule with the largest share of time held.
import { TRIES_AT_MS } from '../lib/dialects/sqlite/pause.ts'

const TRIES = TRIES_AT_MS.filter((t) => t <= 78)
const STEP = 0.05

/** True when a writer arriving at any phase of the schedule gets in with one of TRIES. */
function letsEveryWriterIn(period: number, hold: number, margin: number): boolean {
  for (let phase = 0; phase < period; phase += STEP) {
    const inside = TRIES.some((t) => {
      const at = (phase + t) % period
      return at >= hold + margin && at <= period - margin
    })
    if (!inside) return false
  }
  return true
}

/** The longest hold of `period` that still lets every writer in (a longer hold only makes it harder). */
function longestHold(period: number, margin: number): number {
  let [ok, bad] = [0, period]
  if (!letsEveryWriterIn(period, STEP, margin)) return 0
  while (bad - ok > STEP) {
    const mid = (ok + bad) / 2
    if (letsEveryWriterIn(period, mid, margin)) ok = mid
    else bad = mid
  }
  return ok
}

console.log('| margin (ms) | best schedule: hold / period (ms) | share of time held |')
console.log('|---:|---|---:|')
for (const margin of [0.5, 1, 2]) {
  let best = { share: 0, period: 0, hold: 0 }
  for (let period = 2; period <= 120; period += 0.5) {
    const hold = longestHold(period, margin)
    if (hold / period > best.share) best = { share: hold / period, period, hold }
  }
  console.log(`| ${margin} | ${best.hold.toFixed(1)} / ${best.period} | ${(best.share * 100).toFixed(1)} % |`)
}
console.log('evolvekit while nobody else writes: 75 ms batches and 25 ms pauses, 75 % held.')
