// Progress arithmetic and state text (lib/core/progress.ts): what `status` shows, from a run row
// and its counts. No database.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { progressOf, stateText } from '../../lib/core/progress.ts'
import { canMove } from '../../lib/core/run-state.ts'
import { fakeRun } from '../helpers/tracking.ts'

const run = fakeRun
const totals = { rowsDone: 400, rowsEvolved: 400, batchesDone: 4, retries: 2, lastBatchAt: 20_000 }

describe('progress arithmetic', () => {
  it('rate over the recent window, remaining and ETA from it', () => {
    // 300 rows in the last 30 s window (now is 40 s after the start).
    const p = progressOf(run(), totals, 100, 1, { rows: 300, now: 40_000 })
    assert.equal(p.rowsPerSecond, 10)
    assert.equal(p.remaining, 500, 'total - done - failed')
    assert.equal(p.etaSeconds, 50)
    assert.equal(p.stateText, 'running')
    assert.equal(p.changedBy, 'alice@host')
  })

  it('a window shorter than 30 s since the start counts only the time since the start', () => {
    const p = progressOf(run({ startedAt: 30_000 }), totals, 0, 1, { rows: 100, now: 40_000 })
    assert.equal(p.rowsPerSecond, 10)
  })

  it('in its first second a run is measured over a whole second: the first batches of a rate-limited run finish faster than the limit allows a second', () => {
    // 15,000 rows (a limit of 15,000 rows/s) done 570 ms after the start: not 26,316 rows/s.
    const p = progressOf(run({ startedAt: 39_430 }), totals, 0, 1, { rows: 15_000, now: 40_000 })
    assert.equal(p.rowsPerSecond, 15_000)
  })

  it('a running run with no live worker has no rate, no ETA and no throttle reason', () => {
    const p = progressOf(run({ throttleReason: 'max 10 rows/s' }), totals, 0, 0, { rows: 300, now: 40_000 })
    assert.equal(p.rowsPerSecond, null)
    assert.equal(p.etaSeconds, null)
    assert.equal(p.throttled, null)
    assert.equal(p.stateText, 'running (no workers)')
  })

  it('an ended run shows its average rate and nothing remaining once done', () => {
    const p = progressOf(run({ state: 'done', finishedAt: 50_000 }), totals, 0, 0, null)
    assert.equal(p.rowsPerSecond, 10, '400 rows over 40 s')
    assert.equal(p.remaining, 0)
    assert.equal(p.etaSeconds, null)
  })

  it('a total the scan outgrew (rows the app wrote ahead of it) grows to done instead of showing done above it', () => {
    const p = progressOf(run({ totalEstimate: 350 }), totals, 0, 1, { rows: 300, now: 40_000 })
    assert.equal(p.total, 400)
    assert.equal(p.remaining, 0)
  })

  it('state text names the throttle reason while workers hold back', () => {
    assert.equal(stateText('running', 2, 'replication lag 900 ms > 500 ms'), 'running, throttled (replication lag 900 ms > 500 ms)')
    assert.equal(stateText('paused', 0, null), 'paused')
  })
})

describe('the run state machine', () => {
  it('allows only the moves of its table', () => {
    assert.ok(canMove('pending', 'running'))
    assert.ok(canMove('running', 'paused'))
    assert.ok(canMove('paused', 'running'))
    assert.ok(!canMove('done', 'running'), 'done is final')
    assert.ok(!canMove('paused', 'done'), 'a paused run does not finish')
    assert.ok(!canMove('pending', 'failed'))
  })
})
