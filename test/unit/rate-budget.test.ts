// What a rows-per-second limit counts (lib/core/throttle.ts rateBudget, rangeKeys): rows evolved,
// estimated for running batches from the density of pending rows. Pure arithmetic, no database.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { rangeKeys, rateBudget } from '../../lib/core/throttle.ts'
import type { RateBatch, RateWindow } from '../../lib/store/batch-rates.ts'

const now = 10_000
const done = (phase: string, planned: number, rows: number, claimedAt = now - 5000): RateBatch => ({
  phase,
  state: 'done',
  planned,
  rows,
  claimedAt,
})
const running = (phase: string, planned: number, claimedAt = now - 100): RateBatch => ({
  phase,
  state: 'claimed',
  planned,
  rows: null,
  claimedAt,
})
const window = (claims: RateBatch[], recent: RateBatch[]): RateWindow => ({ now, claims, recent })

describe('a rows-per-second budget', () => {
  it('counts a finished batch by the rows it evolved, not by the keys its range spanned', () => {
    const budget = rateBudget(2000, window([done('scan', 2000, 200, now - 300)], [done('scan', 2000, 200)]), 'scan')
    assert.equal(budget.left, 1800)
    assert.equal(budget.density, 0.1)
    // 1,800 rows left at one row in ten: 18,000 keys, but no more than the batch the sizer wants.
    assert.equal(rangeKeys(budget, 50_000), 18_000)
    assert.equal(rangeKeys(budget, 5000), 5000)
  })

  it("counts a running batch by its planned keys times the density of its phase's recent ranges", () => {
    const recent = [done('scan', 1000, 50), done('scan', 3000, 150)]
    const budget = rateBudget(2000, window([running('scan', 10_000)], recent), 'scan')
    assert.equal(budget.left, 1500)
    assert.equal(budget.freesInMs, 900)
  })

  it('takes the density as 1 before any range finished, and never carries a scan density over to a sweep', () => {
    const scans = [done('scan', 10_000, 100)]
    assert.equal(rateBudget(100, window([], []), 'scan').density, 1)
    const sweep = rateBudget(100, window([running('sweep', 40)], scans), 'sweep')
    assert.equal(sweep.density, 1)
    assert.equal(sweep.left, 60)
    assert.equal(rangeKeys(sweep, 1000), 60)
  })

  it('leaves nothing once a batch evolved more than its share, and plans no range then', () => {
    const budget = rateBudget(100, window([done('scan', 100, 130, now - 200)], [done('scan', 100, 130)]), 'scan')
    assert.equal(budget.left, -30)
    assert.equal(rangeKeys(budget, 1000), 0)
  })

  it('bounds a range by the size alone while recent ranges evolved nothing', () => {
    const budget = rateBudget(100, window([], [done('scan', 500, 0)]), 'scan')
    assert.equal(budget.density, 0)
    assert.equal(rangeKeys(budget, 700), 700)
  })

  it('learns the density from done ranges only: a split or a retry batch planned no keys', () => {
    const recent = [done('scan', 1000, 100), { ...done('scan', 1000, 0), state: 'split' }, done('scan', 0, 7)]
    assert.equal(rateBudget(100, window([], recent), 'scan').density, 0.1)
  })
})
