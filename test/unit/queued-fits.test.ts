// A batch from the pending queue under a rows-per-second limit (lib/core/throttle.ts queuedFits,
// rateBudget): it waits for what it holds to fit, never for ever, and counts while it runs.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { queuedFits, rateBudget } from '../../lib/core/throttle.ts'
import type { RateBatch } from '../../lib/store/batch-rates.ts'

const now = 10_000
const claim = (over: Partial<RateBatch>): RateBatch => ({
  phase: 'scan',
  state: 'claimed',
  planned: 0,
  rows: null,
  claimedAt: now - 100,
  ...over,
})
const budget = (claims: RateBatch[]) => rateBudget(100, { now, claims, recent: [] }, 'scan')

describe('a queued batch under a rows-per-second limit', () => {
  it('starts when its rows fit in what is left of the second, and waits when they do not', () => {
    const spent = budget([claim({ state: 'done', rows: 60 })])
    assert.equal(queuedFits(spent, 40), true)
    assert.equal(queuedFits(spent, 41), false)
  })

  it('runs alone once nothing is claimed in the window, however many rows it holds', () => {
    assert.equal(queuedFits(budget([]), 500), true)
  })

  it('holds the budget while it runs by the rows it was expected to evolve, where a new range is estimated from its keys', () => {
    assert.equal(budget([claim({ expected: 70 })]).left, 30)
    assert.equal(budget([claim({ planned: 20 })]).left, 80)
    assert.equal(budget([claim({ expected: 70, planned: 0 }), claim({ planned: 20 })]).left, 10)
  })

  it('lets a batch with nothing left to evolve start even when the second was overspent', () => {
    const over = budget([claim({ state: 'done', rows: 130 })])
    assert.equal(queuedFits(over, 0), true)
    assert.equal(queuedFits(over, 1), false)
  })
})
