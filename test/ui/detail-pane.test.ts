// The detail pane of `evolve ui`: counts, batch size, workers, and the recent events of the selected run.
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { cleanup, render } from 'ink-testing-library'
import { createElement } from 'react'
import { App } from '../../cli/ui/app.tsx'
import { FakeAdmin, frame, row } from './fake-admin.ts'

// A test that fails mid-way still unmounts its UI, so the file ends instead of rendering on.
afterEach(cleanup)

describe('the detail pane', () => {
  it('shows the selected run’s counts, retries by reason, workers and its events with who changed its state', async () => {
    const admin = new FakeAdmin()
    admin.rows = [
      row(
        'emails',
        {
          state: 'running',
          stateText: 'running, throttled (replica lag 900 ms)',
          done: 781244,
          total: 1002118,
          failed: 2,
          retries: 14,
          batchSize: 6540,
          throttled: 'replica lag 900 ms',
        },
        {
          workers: [
            { host: 'web-3', pid: 4411 },
            { host: 'web-4', pid: 902 },
          ],
        },
      ),
      row('other', { state: 'pending' }),
    ]
    const ui = render(createElement(App, { admin, size: { width: 100, height: 30 }, refreshMs: 20 }))
    await frame(ui.lastFrame, 'emails · running, throttled (replica lag 900 ms)')
    const emit = (name: string, data: Record<string, unknown>) =>
      admin.events.emit('event', { name, data, at: Date.UTC(2026, 0, 1, 14, 3, 12) })
    emit('batch:retry', { run: 'emails', batchId: 411, attempt: 2, reason: 'deadlock', error: 'deadlock detected' })
    emit('batch:retry', { run: 'emails', batchId: 411, attempt: 3, reason: 'lock_timeout', error: 'lock timeout' })
    emit('batch:done', { run: 'emails', batchId: 412, phase: 'scan', rows: 6540, durationMs: 48, retries: 2 })
    emit('batch:split', { run: 'emails', batchId: 413, pendingRows: 50, error: 'bad value' })
    emit('throttled', { run: 'emails', source: 'replication', reason: 'replica lag 900 ms', ms: 500 })
    emit('run:state', { run: 'emails', from: 'running', to: 'paused', by: 'ops@deploy-7', reason: 'pause' })
    emit('batch:done', { run: 'other', batchId: 1, phase: 'scan', rows: 5, durationMs: 1, retries: 0 })
    const f = await frame(ui.lastFrame, 'running → paused  by ops@deploy-7 (pause)')
    assert.match(f, /done 781,244 \/ 1,002,118 · failed 2 · retries 14 \(deadlock 1, lock_timeout 1\)/)
    assert.match(f, /batch 6,540 rows · workers: web-3 pid 4411, web-4 pid 902/)
    assert.match(f, /throttled: replica lag 900 ms/)
    assert.match(f, /retry {2}batch 411 {2}deadlock \(attempt 2\)/)
    assert.match(f, /batch 412 done {2}6,540 rows {2}48 ms {2}\(2 retries\)/)
    assert.match(f, /split {2}batch 413 {2}50 rows: bad value/)
    assert.match(f, /throttled {2}replica lag 900 ms/)
    assert.doesNotMatch(f, /batch 1 done/, 'events of another run stay out')
    const lines = f.split('\n')
    assert.ok(
      lines.findIndex((l) => l.includes('running → paused')) < lines.findIndex((l) => l.includes('retry  batch 411  deadlock')),
      'newest first',
    )
    ui.unmount()
  })

  it('draws the rate of the last minutes as a sparkline from the refreshes', async () => {
    const admin = new FakeAdmin()
    let rate = 0
    admin.rows = [row('emails', { state: 'running' })]
    const original = admin.snapshot.bind(admin)
    admin.snapshot = async () => {
      rate = (rate + 100) % 800
      admin.rows = [row('emails', { state: 'running', rowsPerSecond: rate })]
      return original()
    }
    const ui = render(createElement(App, { admin, size: { width: 80, height: 24 }, refreshMs: 5 }))
    await frame(ui.lastFrame, /rate {2}\S*▁\S*█/)
    ui.unmount()
  })

  it('shows no current rate once a run stops running: ROWS/S blank, the sparkline decays to ▁', async () => {
    const admin = new FakeAdmin()
    let ticks = 0
    const original = admin.snapshot.bind(admin)
    admin.snapshot = async () => {
      // Running at 5,000 rows/s for 20 refreshes, then done: its rowsPerSecond is then the run's average.
      const state = ++ticks <= 20 ? 'running' : 'done'
      admin.rows = [row('emails', { state, rowsPerSecond: 5000, done: 100, total: 100 })]
      return original()
    }
    const ui = render(createElement(App, { admin, size: { width: 80, height: 24 }, refreshMs: 5 }))
    await frame(ui.lastFrame, /emails\s+running.*5,000/)
    // 60 samples shown at 80 columns (a minute at one a second): after 80 refreshes no running one is left.
    const f = await frame(ui.lastFrame, () => ticks > 90)
    assert.match(f, /emails\s+done\s+█+\s+100%\s+–/, 'no rate in ROWS/S')
    assert.doesNotMatch(f, /5,000/)
    assert.match(f, /rate {2}▁+ {2}last/, 'the sparkline has decayed')
    ui.unmount()
  })

  it('shows a reverted snapshot run as reverted in the list too, and its snapshot in words, not JSON', async () => {
    const admin = new FakeAdmin()
    const snapshot = {
      step: 'reverted' as const,
      stepNumber: null,
      steps: ['preflight', 'read-only', 'copy', 'build', 'evolve', 'verify', 'swap', 'validate', 'read-write', 'done'] as const,
      table: 'orders',
      shadow: 'orders__evolve_new_1',
      backup: 'orders__evolve_old_1',
      copied: 100000,
      total: 100000,
      evolved: null,
      readOnly: { since: '2026-11-27T18:20:01.000Z', until: '2026-11-27T18:20:03.500Z', ms: 2500 },
      swappedAt: '2026-11-27T18:20:03.000Z',
      error: null,
    }
    const stateText = 'reverted (evolve cleanup 20261127_snapshot-email, then it can run again)'
    admin.rows = [row('20261127_snapshot-email', { state: 'pending', stateText, snapshot }), row('other', { state: 'pending' })]
    for (const width of [80, 120]) {
      const ui = render(createElement(App, { admin, size: { width, height: 24 }, refreshMs: 20 }))
      const f = await frame(ui.lastFrame, `20261127_snapshot-email · ${stateText}`.slice(0, width - 3))
      assert.match(f, /❯ 20261127_snapshot-email\s+reverted…\s+░+\s+0%/, 'the list says reverted, as the detail pane')
      assert.match(f, /other\s+pending\s/)
      assert.doesNotMatch(f, /snapshot-email\s+pending/)
      assert.doesNotMatch(f, /[{}"]/, 'no JSON')
      assert.match(f, /snapshot reverted · orders · swapped \d\d:\d\d:\d\d/)
      assert.match(f, /evolved table kept as orders__evolve_new_1; orders is back as before the swap/)
      assert.match(f, /read-only \d\d:\d\d:01–\d\d:\d\d:03 \(3s\)/)
      for (const line of f.split('\n')) assert.ok(line.length <= width, `line fits ${width} columns: ${line}`)
      ui.unmount()
    }
  })

  it('shows where a snapshot run is while it copies, with its read-only window so far', async () => {
    const admin = new FakeAdmin()
    const snapshot = {
      step: 'copy' as const,
      stepNumber: 3,
      steps: ['preflight', 'read-only', 'copy', 'build', 'evolve', 'verify', 'swap', 'validate', 'read-write', 'done'] as const,
      table: 'orders',
      shadow: 'orders__evolve_new_2',
      backup: 'orders__evolve_old_2',
      copied: 40000,
      total: 100000,
      evolved: null,
      readOnly: { since: '2026-11-27T18:20:01.000Z', until: null, ms: 12000 },
      swappedAt: null,
      error: null,
    }
    admin.rows = [row('snap', { state: 'running', stateText: 'running', snapshot }, { local: true })]
    const ui = render(createElement(App, { admin, size: { width: 100, height: 24 }, refreshMs: 20 }))
    const f = await frame(ui.lastFrame, 'snapshot step 3/10 copy · orders · copied 40,000 / 100,000')
    assert.match(f, /❯ snap\s+running\*\s/)
    assert.match(f, /copy orders__evolve_new_2/)
    assert.match(f, /read-only since \d\d:\d\d:01, 12s so far/)
    ui.unmount()
  })

  it('folds a run held back again and again for the same reason into one line, and shows its snapshot steps', async () => {
    const admin = new FakeAdmin()
    admin.rows = [row('emails', { state: 'running' }), row('other', { state: 'running' })]
    const ui = render(createElement(App, { admin, size: { width: 80, height: 24 }, refreshMs: 20 }))
    await frame(ui.lastFrame, 'emails · running')
    let at = Date.UTC(2026, 0, 1, 14, 3, 0)
    const emit = (name: string, data: Record<string, unknown>) => admin.events.emit('event', { name, data, at: (at += 100) })
    emit('snapshot:step', { run: 'emails', step: 'copy', table: 'orders' })
    emit('batch:done', { run: 'emails', batchId: 7, phase: 'scan', rows: 3000, durationMs: 40, retries: 0 })
    // 400 holds: more than the dashboard keeps events, interleaved with another run's.
    for (let n = 0; n < 400; n++) {
      emit('throttled', { run: 'emails', source: 'rate', reason: 'max 3000 rows/s', ms: 100 })
      emit('throttled', { run: 'other', source: 'rate', reason: 'max 3000 rows/s', ms: 100 })
    }
    const f = await frame(ui.lastFrame, 'throttled  max 3000 rows/s  (×400)')
    assert.equal(f.match(/throttled {2}max 3000/g)?.length, 1, 'one line for the holds')
    assert.match(f, /batch 7 done {2}3,000 rows/, 'the batch before them is still shown')
    assert.match(f, /snapshot step copy {2}orders/)
    emit('throttled', { run: 'emails', source: 'replication', reason: 'replica lag 900 ms', ms: 500 })
    await frame(ui.lastFrame, /throttled {2}replica lag 900 ms\n.*throttled {2}max 3000 rows\/s {2}\(×400\)/)
    // The same hold with its live figure moved: one line still, showing the latest figure.
    emit('throttled', { run: 'emails', source: 'replication', reason: 'replica lag 1210 ms', ms: 500 })
    const moved = await frame(ui.lastFrame, 'throttled  replica lag 1210 ms  (×2)')
    assert.doesNotMatch(moved, /replica lag 900 ms/)
    ui.unmount()
  })
})
