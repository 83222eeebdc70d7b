import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sqlitePauseAfterBatchMs } from '../../lib/dialects/sqlite/pause.ts'

// SQLite's default busy handler (sqliteDefaultBusyCallback): the sleeps between a waiting writer's tries.
const SLEEPS_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100]

/** When a writer that first tried at `arrival` tries again, up to `until` (after the listed sleeps: every 100 ms). */
function tries(arrival: number, until: number): number[] {
  const at = [arrival]
  for (let i = 0; at[at.length - 1]! <= until; i++) at.push(at[at.length - 1]! + (SLEEPS_MS[i] ?? 100))
  return at
}

describe('the pause after a SQLite batch', () => {
  it("lets in every writer that came during the batch: one of its busy handler's tries falls in the pause", () => {
    for (let held = 0.5; held <= 400; held += 0.5) {
      const pause = sqlitePauseAfterBatchMs(held)
      for (let arrival = 0; arrival < held; arrival += 0.25) {
        const inPause = tries(arrival, held + pause).some((t) => t >= held && t <= held + pause)
        assert.ok(inPause, `a writer arriving ${arrival} ms into a ${held} ms batch misses a ${pause} ms pause`)
      }
    }
  })

  it('is as short as that allows: 15 ms after a 25 ms batch, 25 ms after a 75 ms one, 110 ms after a long one', () => {
    const pauses = [2, 10, 25, 40, 75, 127, 150, 228, 5000].map((held) => sqlitePauseAfterBatchMs(held))
    assert.deepEqual(pauses, [2, 10, 15, 20, 25, 25, 50, 110, 110])
  })
})
