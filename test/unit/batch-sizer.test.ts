// The adaptive batch size (lib/core/pacing.ts): pure arithmetic, no database.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BatchSizer, PACING_DEFAULTS, type PacingOptions } from '../../lib/core/pacing.ts'

const pacing: PacingOptions = { targetBatchMs: 50, minBatchSize: 10, maxBatchSize: 5000, maxBatchBytes: 32 * 1024 * 1024 }

/** Feeds `sizer` batches of its current size whose duration grows linearly with the rows. */
function runLinear(sizer: BatchSizer, msPerRow: number, batches: number): number[] {
  const sizes: number[] = []
  for (let i = 0; i < batches; i++) {
    sizer.observe(sizer.current, sizer.current * msPerRow)
    sizes.push(sizer.current)
  }
  return sizes
}

describe('the adaptive batch size', () => {
  it('starts at the given size, moved into the min..max bounds', () => {
    assert.equal(new BatchSizer(700, pacing).current, 700)
    assert.equal(new BatchSizer(1, pacing).current, 10)
    assert.equal(new BatchSizer(1_000_000, pacing).current, 5000)
  })

  it('keeps a fixed size as given, outside the bounds too, whatever the batches take', () => {
    const sizer = new BatchSizer(3, pacing, true)
    sizer.observe(3, 10_000)
    sizer.observe(3, 0)
    assert.equal(sizer.current, 3)
  })

  it('stays put when a batch takes the target duration', () => {
    const sizer = new BatchSizer(400, pacing)
    sizer.observe(400, 50)
    assert.equal(sizer.current, 400)
  })

  it('shrinks in proportion to a slow batch, by at most a factor of 4 in one step', () => {
    const twice = new BatchSizer(400, pacing)
    twice.observe(400, 100)
    assert.equal(twice.current, 200)
    const far = new BatchSizer(400, pacing)
    far.observe(400, 5000)
    assert.equal(far.current, 100, 'a batch 100x too slow shrinks by 4, not 100')
  })

  it('grows after a fast batch by at most a factor of 1.5 in one step', () => {
    const sizer = new BatchSizer(400, pacing)
    sizer.observe(400, 40)
    assert.equal(sizer.current, 500)
    sizer.observe(500, 25)
    assert.equal(sizer.current, 750, 'a batch 2x too fast grows by 1.5 only')
  })

  it('grows by half the gap, at most 4x, after a batch far under the target', () => {
    const third = new BatchSizer(100, pacing)
    third.observe(100, 10) // 5x under the 50 ms target
    assert.equal(third.current, 250)
    const far = new BatchSizer(100, pacing)
    far.observe(100, 1) // 50x under
    assert.equal(far.current, 400, 'a batch 50x too fast grows by 4, not 25')
    const zero = new BatchSizer(100, pacing)
    zero.observe(100, 0)
    assert.equal(zero.current, 400, 'a batch that took 0 ms counts as 1 ms')
  })

  it('moves the size in proportion when the target changes, and observes against the new one', () => {
    const sizer = new BatchSizer(3000, pacing)
    sizer.retarget(25)
    assert.equal(sizer.current, 1500)
    assert.equal(sizer.targetMs, 25)
    sizer.observe(1500, 25)
    assert.equal(sizer.current, 1500, 'a batch on the new target stays put')
    sizer.retarget(75)
    assert.equal(sizer.current, 4500)
    const fixed = new BatchSizer(300, pacing, true)
    fixed.retarget(10)
    assert.equal(fixed.current, 300, 'a fixed size stays fixed')
  })

  it('ignores a short tail batch (under half the size), which says little about speed', () => {
    const sizer = new BatchSizer(400, pacing)
    sizer.observe(199, 5000)
    assert.equal(sizer.current, 400)
    sizer.observe(200, 5000)
    assert.equal(sizer.current, 100, 'half the size counts')
  })

  it('never leaves the min..max bounds', () => {
    const slow = new BatchSizer(12, pacing)
    for (let i = 0; i < 5; i++) slow.observe(slow.current, 10_000)
    assert.equal(slow.current, pacing.minBatchSize)
    const fast = new BatchSizer(4000, pacing)
    for (let i = 0; i < 5; i++) fast.observe(fast.current, 1)
    assert.equal(fast.current, pacing.maxBatchSize)
  })

  it('settles on the size whose batches take the target duration, from below and from above', () => {
    // 0.1 ms per row and a 50 ms target: 500 rows.
    const up = runLinear(new BatchSizer(10, pacing), 0.1, 20)
    assert.equal(up.at(-1), 500)
    for (let i = 1; i < up.length; i++) assert.ok(up[i]! >= up[i - 1]!, `grows steadily, never overshoots: ${up.join(', ')}`)
    const down = runLinear(new BatchSizer(5000, pacing), 0.1, 20)
    assert.equal(down.at(-1), 500)
    assert.ok(
      down.every((size) => size >= 500),
      `shrinks without undershooting: ${down.join(', ')}`,
    )
  })

  it('has defaults that let a batch take 50 ms between 10 and 20000 rows and 32 MiB', () => {
    assert.deepEqual(PACING_DEFAULTS, { targetBatchMs: 50, minBatchSize: 10, maxBatchSize: 20_000, maxBatchBytes: 32 * 1024 * 1024 })
  })
})

describe('the byte cap', () => {
  it('lowers the rows per batch to what fits maxBatchBytes once row sizes are known', () => {
    const sizer = new BatchSizer(1000, { ...pacing, maxBatchBytes: 100_000 })
    assert.equal(sizer.current, 1000, 'no row seen yet: the time-learned size')
    sizer.observeBytes(10, 10 * 1000) // 1 kB rows
    assert.equal(sizer.current, 100)
    assert.equal(sizer.rowBytes, 1000)
  })

  it('leaves a fixed size alone', () => {
    const sizer = new BatchSizer(1000, { ...pacing, maxBatchBytes: 100_000 }, true)
    sizer.observeBytes(10, 10 * 1000)
    assert.equal(sizer.current, 1000)
  })
})
