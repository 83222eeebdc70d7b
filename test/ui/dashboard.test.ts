// The dashboard of `evolve ui`: rows, selection, keys and their answers, rendered with ink-testing-library.
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { cleanup, render } from 'ink-testing-library'
import { createElement } from 'react'
import { App } from '../../cli/ui/app.tsx'
import { FakeAdmin, KEY, frame, row } from './fake-admin.ts'

// A test that fails mid-way still unmounts its UI, so the file ends instead of rendering on.
afterEach(cleanup)

function show(admin: FakeAdmin, size = { width: 80, height: 24 }) {
  return render(createElement(App, { admin, size, refreshMs: 20 }))
}

function twoRuns(): FakeAdmin {
  const admin = new FakeAdmin()
  admin.rows = [
    row(
      '20260101_lowercase-emails',
      { state: 'running', stateText: 'running', done: 780, total: 1000, rowsPerSecond: 41200, etaSeconds: 12, batchSize: 400 },
      { local: true, localBatchSize: 400, workers: [{ host: 'web-3', pid: 4411 }] },
    ),
    row('20260102_backfill', { state: 'paused', stateText: 'paused', done: 310, total: 1000 }),
    { ...row('20260103_broken'), problem: 'migrations/20260103_broken.ts: unknown key "nonsense"' },
  ]
  return admin
}

describe('the dashboard', () => {
  it('shows every migration with its state, progress, rate and ETA, and a broken file on its own row', async () => {
    const ui = show(twoRuns())
    const f = await frame(ui.lastFrame, '20260101_lowercase-emails')
    assert.match(f, /❯ 20260101_lowercase-emails\s+running\*\s+█+░+\s+78%\s+41,200\s+0:12/)
    assert.match(f, /20260102_backfill\s+paused\s+█+░+\s+31%/)
    assert.match(f, /20260103_broken\s+invalid: migrations\/20260103_broken.ts/)
    assert.match(f, /postgres:\/\/ops@db1\/app · 3 migrations · 1 worker /, 'one worker, singular')
    assert.match(f, /q quit/, 'the key list fits 80 columns')
    for (const line of f.split('\n')) assert.ok(line.length <= 80, `line fits 80 columns: ${line}`)
    ui.unmount()
  })

  it('reads 100 % only for a done run: a sweep whose done reached the total shows 99 %', async () => {
    const admin = new FakeAdmin()
    admin.rows = [
      row('20260101_sweeping', { state: 'running', stateText: 'running', phase: 'sweep', done: 1000, total: 1000, remaining: null }),
      row('20260102_finished', { state: 'done', stateText: 'done', done: 1000, total: 1000, remaining: 0 }),
    ]
    const ui = show(admin)
    const f = await frame(ui.lastFrame, '20260102_finished')
    assert.match(f, /20260101_sweeping\s+running\s+█+░*\s+99%/)
    assert.match(f, /20260102_finished\s+done\s+█+\s+100%/)
    ui.unmount()
  })

  it('moves the selection with the arrows and acts on the selected run: pause, resume, cancel after confirming', async () => {
    const admin = twoRuns()
    const ui = show(admin)
    await frame(ui.lastFrame, '20260101_lowercase-emails · running')
    ui.stdin.write(KEY.down)
    await frame(ui.lastFrame, /❯ 20260102_backfill/)
    ui.stdin.write('u')
    await frame(ui.lastFrame, '20260102_backfill: running')
    ui.stdin.write(KEY.up)
    await frame(ui.lastFrame, /❯ 20260101_lowercase/)
    ui.stdin.write('p')
    await frame(ui.lastFrame, '20260101_lowercase-emails: paused')
    ui.stdin.write('c')
    await frame(ui.lastFrame, 'Cancel the run of 20260101_lowercase-emails on every machine? (y/N)')
    ui.stdin.write('n')
    await frame(ui.lastFrame, (f) => !f.includes('(y/N)'))
    ui.stdin.write('c')
    await frame(ui.lastFrame, '(y/N)')
    ui.stdin.write('y')
    await frame(ui.lastFrame, '20260101_lowercase-emails: cancelled')
    assert.deepEqual(admin.calls, [
      ['resume', '20260102_backfill'],
      ['pause', '20260101_lowercase-emails'],
      ['cancel', '20260101_lowercase-emails'],
    ])
    ui.unmount()
  })

  it('runs the selected migration here with r, and + / - double and halve the batch size', async () => {
    const admin = twoRuns()
    const ui = show(admin)
    await frame(ui.lastFrame, '20260101_lowercase-emails · running')
    ui.stdin.write('+')
    await frame(ui.lastFrame, 'batch size 800 (fixed)')
    ui.stdin.write('-')
    await frame(ui.lastFrame, 'batch size 200 (fixed)')
    admin.batchCap = 300 // --max-rows-per-second 300: a batch never takes more
    ui.stdin.write('+')
    await frame(ui.lastFrame, 'batch size 800 (fixed; rate limit caps it at 300)')
    ui.stdin.write(KEY.down)
    await frame(ui.lastFrame, /❯ 20260102_backfill/)
    ui.stdin.write('r')
    await frame(ui.lastFrame, '20260102_backfill runs in this process')
    // Once that run ends, the footer no longer says it runs here.
    admin.events.emit('event', { name: 'local:end', data: { run: '20260102_backfill', state: 'failed', error: 'boom' }, at: Date.now() })
    const ended = await frame(ui.lastFrame, '20260102_backfill: run in this process ended: failed: boom')
    assert.doesNotMatch(ended, /runs in this process/)
    assert.deepEqual(admin.calls, [
      ['scaleBatchSize', '20260101_lowercase-emails', 2],
      ['scaleBatchSize', '20260101_lowercase-emails', 0.5],
      ['scaleBatchSize', '20260101_lowercase-emails', 2],
      ['run', '20260102_backfill'],
    ])
    ui.unmount()
  })

  it('takes keys read in one chunk one by one, up to one that opens a dialog', async () => {
    const admin = twoRuns()
    const ui = show(admin)
    await frame(ui.lastFrame, '20260101_lowercase-emails · running')
    ui.stdin.write('++p')
    await frame(ui.lastFrame, '20260101_lowercase-emails: paused')
    ui.stdin.write('cy')
    await frame(ui.lastFrame, 'Cancel the run of 20260101_lowercase-emails on every machine?')
    assert.deepEqual(admin.calls, [
      ['scaleBatchSize', '20260101_lowercase-emails', 2],
      ['scaleBatchSize', '20260101_lowercase-emails', 2],
      ['pause', '20260101_lowercase-emails'],
    ])
    ui.unmount()
  })

  it('shows the help screen on ? and goes back on any key; o says when there is no read-only switch', async () => {
    const ui = show(twoRuns())
    await frame(ui.lastFrame, '20260101_lowercase-emails')
    ui.stdin.write('?')
    await frame(ui.lastFrame, 'evolve ui — keys')
    ui.stdin.write(' ')
    await frame(ui.lastFrame, 'MIGRATION')
    ui.stdin.write('o')
    await frame(ui.lastFrame, 'read-only switch not available')
    ui.unmount()
  })

  it('stops the runs driven here before quitting on q', async () => {
    const admin = twoRuns()
    let stopped: () => void = () => {}
    admin.stopping = new Promise((resolve) => (stopped = resolve))
    const ui = show(admin)
    await frame(ui.lastFrame, '20260101_lowercase-emails')
    ui.stdin.write('q')
    await frame(ui.lastFrame, 'stopping the runs driven here after their batch')
    assert.deepEqual(admin.calls, [['stopAll']])
    ui.stdin.write('r')
    stopped()
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(admin.calls, [['stopAll']], 'no key acts while quitting')
    ui.unmount()
  })

  it('says the terminal is too small instead of drawing a broken layout, and names a missing directory', async () => {
    const small = show(twoRuns(), { width: 50, height: 12 })
    await frame(small.lastFrame, 'terminal too small (50×12)')
    small.unmount()
    const admin = new FakeAdmin()
    admin.problem = 'migrations directory ./migrations does not exist: create it with `evolve init` or pass --dir'
    const ui = show(admin, { width: 160, height: 40 })
    await frame(ui.lastFrame, 'migrations directory ./migrations does not exist')
    ui.unmount()
  })

  it('lists as many migrations as the terminal’s height leaves after the detail pane, and never draws past it', async () => {
    const admin = new FakeAdmin()
    admin.rows = Array.from({ length: 40 }, (_, i) =>
      row(`m${String(i + 1).padStart(2, '0')}_backfill`, { state: 'done', done: 5, total: 5 }),
    )
    const listed = (f: string) => f.split('\n').filter((l) => /^ (❯| ) m\d\d_backfill/.test(l)).length
    for (const [height, least] of [
      [45, 25],
      [24, 10],
    ] as const) {
      const ui = show(admin, { width: 80, height })
      const f = await frame(ui.lastFrame, 'm01_backfill · done')
      assert.ok(listed(f) >= least, `${listed(f)} rows listed at ${height} lines, expected ${least} or more:\n${f}`)
      assert.ok(f.split('\n').length <= height, `the frame fits ${height} lines`)
      assert.match(f, /q quit/)
      ui.unmount()
    }
  })
})
