// What `remaining` and `total` say for runs that stopped in or after a sweep (lib/core/progress.ts),
// from the run row finalize leaves behind (pendingAtEnd: the rows it found still pending). No database: test/progress-truth.test.ts runs them for real.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { progressOf } from '../../lib/core/progress.ts'
import type { Run } from '../../lib/store/runs.ts'
import { fakeRun } from '../helpers/tracking.ts'

/** A run that ended failed in its third sweep (the cases below say otherwise where they differ). */
const run = (over: Partial<Run> = {}): Run => fakeRun({ state: 'failed', phase: 'sweep', sweepPass: 3, finishedAt: 50_000, ...over })
const totals = { rowsDone: 1000, rowsEvolved: 1200, batchesDone: 12, retries: 0, lastBatchAt: 49_000 }

describe('remaining after the sweeps', () => {
  it('a run that ended with rows of a NULL key left shows them remaining, and a total above done', () => {
    const lastError = '7 rows have a NULL id (written during the run): no batch holds them, so they were not evolved; …'
    const p = progressOf(run({ phase: 'scan', lastError, pendingAtEnd: 7 }), totals, 0, 0, null)
    assert.equal(p.remaining, 7)
    assert.equal(p.total, 1007)
  })

  it('a run that ended with failed objects after a whole pass has nothing else remaining', () => {
    const p = progressOf(run({ scanDone: true, lastError: '3 objects failed: see `evolve failures m`, …' }), totals, 3, 0, null)
    assert.equal(p.remaining, 0)
  })

  it('a run that failed in the middle of a sweep (maxFailures) has an unknown remaining, not 0', () => {
    const p = progressOf(run({ lastError: 'stopped after 100 failed objects (maxFailures 100): …' }), totals, 100, 0, null)
    assert.equal(p.remaining, null)
  })

  it('a run resumed after its sweeps gave up is sweeping again: its old reason no longer counts', () => {
    const p = progressOf(run({ state: 'running', finishedAt: null, pendingAtEnd: 2 }), totals, 0, 1, {
      rows: 0,
      now: 60_000,
    })
    assert.equal(p.remaining, null)
  })

  it('without the time its batches ran, a stopped run averages over its start to its end', () => {
    assert.equal(progressOf(run(), totals, 0, 0, null).rowsPerSecond, 30, '1200 rows over 40 s')
    assert.equal(progressOf(run(), totals, 0, 0, null, 4_000).rowsPerSecond, 300, '1200 rows over the 4 s its batches ran')
  })
})
