// The read-only dialog of `evolve ui` (key o): a banner message, a confirmation, then the banner on top.
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { cleanup, render } from 'ink-testing-library'
import { createElement } from 'react'
import { readOnlyOf } from '../../cli/ui/admin.ts'
import { App } from '../../cli/ui/app.tsx'
import { typeInto } from '../../cli/ui/read-only-dialog.tsx'
import { FakeAdmin, KEY, frame, row } from './fake-admin.ts'

// A test that fails mid-way still unmounts its UI, so the file ends instead of rendering on.
afterEach(cleanup)

/** The dashboard with one run, and the dialog opened on it (key o). */
async function openDialog() {
  const admin = new FakeAdmin(true)
  admin.rows = [row('emails')]
  const ui = render(createElement(App, { admin, size: { width: 100, height: 24 }, refreshMs: 20 }))
  await frame(ui.lastFrame, 'emails')
  ui.stdin.write('o')
  await frame(ui.lastFrame, 'Banner message for the app')
  return { admin, ui }
}

describe('the read-only dialog', () => {
  it('asks for a banner message and a confirmation, turns read-only on, shows the banner, and turns it off again', async () => {
    const { admin, ui } = await openDialog()
    ui.stdin.write('\u0015') // ctrl-u clears the suggested message
    await frame(ui.lastFrame, /> █/)
    ui.stdin.write('Back in 5 minutex')
    ui.stdin.write(KEY.backspace)
    await frame(ui.lastFrame, '> Back in 5 minute█')
    ui.stdin.write('s')
    ui.stdin.write(KEY.enter)
    await frame(ui.lastFrame, 'Turn read-only ON with "Back in 5 minutes"? (y/N)')
    assert.deepEqual(admin.calls, [], 'nothing changes before the confirmation')
    ui.stdin.write('y')
    const f = await frame(ui.lastFrame, /READ-ONLY since \d\d:\d\d:\d\d by ops@deploy-7: "Back in 5 minutes"/)
    assert.match(f, /read-only is ON/)
    ui.stdin.write('o')
    await frame(ui.lastFrame, /Turn read-only OFF \(on since 2026-01-01T14:02:00.000Z by ops@deploy-7\)\? \(y\/N\)/)
    ui.stdin.write('n')
    await frame(ui.lastFrame, (x) => !x.includes('(y/N)'))
    assert.equal(admin.calls.length, 1, 'n changes nothing')
    ui.stdin.write('o')
    await frame(ui.lastFrame, 'Turn read-only OFF')
    ui.stdin.write('y')
    await frame(ui.lastFrame, (x) => x.includes('read-only is off') && !x.includes('READ-ONLY since'))
    assert.deepEqual(admin.calls, [
      ['setReadOnly', true, 'Back in 5 minutes'],
      ['setReadOnly', false, undefined],
    ])
    ui.unmount()
  })

  it('takes a message pasted with its Enter in one chunk', async () => {
    const { ui } = await openDialog()
    ui.stdin.write('\u0015')
    await frame(ui.lastFrame, /> █/)
    ui.stdin.write('Back at noon\r')
    await frame(ui.lastFrame, 'Turn read-only ON with "Back at noon"? (y/N)')
    ui.unmount()
  })

  it('takes ctrl-u, text, a backspace and Enter read in one chunk, as a busy terminal delivers them', async () => {
    const { ui } = await openDialog()
    ui.stdin.write('\u0015Back in 5 minutex\u007fs\r')
    await frame(ui.lastFrame, 'Turn read-only ON with "Back in 5 minutes"? (y/N)')
    ui.unmount()
  })

  it('typeInto replays keys on a line and stops at Enter', () => {
    assert.deepEqual(typeInto('old', '\u0015new'), { text: 'new', enter: false })
    assert.deepEqual(typeInto('ab', '\u007f\bc\u0001d'), { text: 'cd', enter: false })
    assert.deepEqual(typeInto('', 'é ok\rignored'), { text: 'é ok', enter: true })
  })

  it('esc leaves the dialog without a change', async () => {
    const { admin, ui } = await openDialog()
    ui.stdin.write(KEY.escape)
    await frame(ui.lastFrame, (x) => !x.includes('Banner message'))
    assert.deepEqual(admin.calls, [])
    ui.unmount()
  })

  it('readOnlyOf finds the switch only when it has status, enable and disable', () => {
    const fn = async () => ({})
    assert.equal(readOnlyOf({}), undefined)
    assert.equal(readOnlyOf({ readOnly: { status: fn } }), undefined)
    const sw = { status: fn, enable: fn, disable: fn }
    assert.equal(readOnlyOf({ readOnly: sw }), sw)
  })
})
