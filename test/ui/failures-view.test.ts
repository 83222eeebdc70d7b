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
})
