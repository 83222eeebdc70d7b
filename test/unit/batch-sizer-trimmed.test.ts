// A batch a rate limit cut short of the size (lib/core/pacing.ts observeTrimmed): pure arithmetic, no database.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BatchSizer, type PacingOptions } from '../../lib/core/pacing.ts'

const pacing: PacingOptions = { targetBatchMs: 50, minBatchSize: 10, maxBatchSize: 5000, maxBatchBytes: 32 * 1024 * 1024 }

describe('a batch the rate limit cut short', () => {
  it('leaves the size alone when it took the target or less, however short it was', () => {
    const sizer = new BatchSizer(4000, pacing)
    sizer.observeTrimmed(50)
    sizer.observeTrimmed(1)
    assert.equal(sizer.current, 4000)
  })

  it('shrinks the size in proportion when it overran the target on its own, by at most a factor of 4', () => {
    const twice = new BatchSizer(4000, pacing)
    twice.observeTrimmed(100)
    assert.equal(twice.current, 2000)
    const far = new BatchSizer(4000, pacing)
    far.observeTrimmed(5000)
    assert.equal(far.current, 1000)
  })

  it('keeps a fixed size and the min bound', () => {
    const fixed = new BatchSizer(3000, pacing, true)
    fixed.observeTrimmed(10_000)
    assert.equal(fixed.current, 3000)
    const small = new BatchSizer(12, pacing)
    small.observeTrimmed(10_000)
    assert.equal(small.current, pacing.minBatchSize)
  })
})
