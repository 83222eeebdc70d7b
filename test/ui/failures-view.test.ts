// The failures view of `evolve ui`: paged from the admin layer by key, R retries.
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { cleanup, render } from 'ink-testing-library'
import { createElement } from 'react'
import { App } from '../../cli/ui/app.tsx'
import { FakeAdmin, KEY, frame, row } from './fake-admin.ts'

// A test that fails mid-way still unmounts its UI, so the file ends instead of rendering on.
afterEach(cleanup)

describe('the failures view', () => {
  it('pages the failed objects by key (→ next, ← back), moves with ↑/↓, retries on R and goes back on esc', async () => {
    const admin = new FakeAdmin()
    admin.rows = [row('emails', { state: 'failed', failed: 25 })]
    admin.failed = Array.from({ length: 25 }, (_, i) => ({
      key: i + 1,
      error: `value ${i + 1} is not an e-mail`,
      attempts: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    }))
    const ui = render(createElement(App, { admin, size: { width: 80, height: 24 }, refreshMs: 20 }))
    await frame(ui.lastFrame, 'emails')
    ui.stdin.write('f')
    let f = await frame(ui.lastFrame, 'value 1 is not an e-mail')
    assert.match(f, /failures of emails · page 1/)
    // 24 rows less title, header, notice, keys and a spare line: 18 a page.
    assert.match(f, /❯ 1\s+1\s+value 1 is/)
    assert.match(f, /value 18 is not/)
    assert.doesNotMatch(f, /value 19 is not/)
    ui.stdin.write(KEY.down)
    await frame(ui.lastFrame, /❯ 2\s+1\s+value 2 is/)
    ui.stdin.write(KEY.right)
    f = await frame(ui.lastFrame, 'page 2')
    f = await frame(ui.lastFrame, 'value 19 is not')
    assert.match(f, /value 25 is not/)
    assert.doesNotMatch(f, /value 18 is not/)
    ui.stdin.write(KEY.left)
    await frame(ui.lastFrame, (x) => x.includes('page 1') && x.includes('value 1 is not'))
    ui.stdin.write('R')
    await frame(ui.lastFrame, 'retry of emails started in this process')
    ui.stdin.write(KEY.escape)
    await frame(ui.lastFrame, 'MIGRATION')
    assert.deepEqual(admin.calls, [
      ['failures', 'emails', { limit: 18, after: undefined }],
      ['failures', 'emails', { limit: 18, after: 18 }],
      ['failures', 'emails', { limit: 18, after: undefined }],
      ['retry', 'emails'],
    ])
    ui.unmount()
  })

  it('shows composite keys as wide as they are (or their distinguishing end), and reads the page again when the retry ends', async () => {
    const admin = new FakeAdmin()
    admin.rows = [row('events', { state: 'failed', failed: 3 })]
    const uuid = (n: number) => `00000000-0000-0000-0000-00000000000${n}`
    admin.failed = [1, 2, 3].map((n) => ({
      key: [uuid(n), 'eu', n],
      error: `no hits for ${n}`,
      attempts: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    }))
    const ui = render(createElement(App, { admin, size: { width: 100, height: 24 }, refreshMs: 20 }))
    await frame(ui.lastFrame, 'events')
    ui.stdin.write('f')
    let f = await frame(ui.lastFrame, 'no hits for 3')
    for (const n of [1, 2, 3]) assert.ok(f.includes(`["${uuid(n)}","eu",${n}]`), `key ${n} whole at 100 columns:\n${f}`)
    ui.unmount()

    // At 60 columns the key is cut in the middle: the ends that tell the rows apart stay.
    const narrow = render(createElement(App, { admin, size: { width: 60, height: 24 }, refreshMs: 20 }))
    await frame(narrow.lastFrame, 'events')
    narrow.stdin.write('f')
    f = await frame(narrow.lastFrame, 'no hits for 3')
    const keys = f
      .split('\n')
      .filter((l) => l.includes('no hits'))
      .map((l) => l.trim().replace(/^❯ /, '').split(/\s+/)[0])
    assert.equal(new Set(keys).size, 3, `three different keys: ${keys.join(' ')}`)
    for (const n of [1, 2, 3])
      assert.ok(
        keys.some((k) => k!.endsWith(`${n}","eu",${n}]`)),
        `the end of key ${n}: ${keys.join(' ')}`,
      )

    // R: the retry runs here; when it ends the page is read again, and shows what is left.
    narrow.stdin.write('R')
    await frame(narrow.lastFrame, 'retry of events started in this process')
    admin.failed = []
    admin.events.emit('event', { name: 'local:end', data: { run: 'events', state: 'done', error: null }, at: Date.now() })
    f = await frame(narrow.lastFrame, 'no failed objects')
    assert.match(f, /events: run in this process ended: done/)
    narrow.unmount()
  })

  it('reads the page again when the run’s failed count changes (a retry elsewhere)', async () => {
    const admin = new FakeAdmin()
    admin.rows = [row('emails', { state: 'running', failed: 1 })]
    admin.failed = [{ key: 7, error: 'bad', attempts: 1, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' }]
    const ui = render(createElement(App, { admin, size: { width: 80, height: 24 }, refreshMs: 20 }))
    await frame(ui.lastFrame, 'emails')
    ui.stdin.write('f')
    await frame(ui.lastFrame, /❯ 7\s+1\s+bad/)
    admin.failed = []
    admin.rows = [row('emails', { state: 'running', failed: 0 })]
    await frame(ui.lastFrame, 'no failed objects')
    ui.unmount()
  })
})
