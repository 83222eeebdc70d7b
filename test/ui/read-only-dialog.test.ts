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
  it('asks for a banner message, a time limit and a confirmation, turns read-only on, shows the banner, and turns it off again', async () => {
    const { admin, ui } = await openDialog()
    ui.stdin.write('Back in 5 minutex')
    ui.stdin.write(KEY.backspace)
    await frame(ui.lastFrame, '> Back in 5 minute█')
    ui.stdin.write('s')
    ui.stdin.write(KEY.enter)
    await frame(ui.lastFrame, 'Turn it off by itself after (30m, 2h, 1d')
    ui.stdin.write('30m')
    ui.stdin.write(KEY.enter)
    await frame(ui.lastFrame, 'Turn read-only ON with "Back in 5 minutes" for 30m? (y/N)')
    assert.deepEqual(admin.calls, [], 'nothing changes before the confirmation')
    ui.stdin.write('y')
    const f = await frame(ui.lastFrame, /READ-ONLY since \d\d:\d\d:\d\d until \d\d:\d\d:\d\d by ops@deploy-7: "Back in 5 minutes"/)
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
      ['setReadOnly', true, 'Back in 5 minutes', '30m'],
      ['setReadOnly', false, undefined, undefined],
    ])
    ui.unmount()
  })

  it('starts with empty lines: what is typed replaces the suggested message, and no time limit is set unless typed', async () => {
    const { admin, ui } = await openDialog()
    const f = await frame(ui.lastFrame, '> █   empty: "Maintenance in progress, back soon"')
    assert.doesNotMatch(f, /> Maintenance/, 'the suggestion is not typed into the line')
    ui.stdin.write('UI maintenance test')
    ui.stdin.write(KEY.enter)
    await frame(ui.lastFrame, '> █   empty: on until turned off')
    ui.stdin.write(KEY.enter)
    await frame(ui.lastFrame, 'Turn read-only ON with "UI maintenance test" until turned off? (y/N)')
    ui.stdin.write('y')
    await frame(ui.lastFrame, /READ-ONLY since \d\d:\d\d:\d\d by ops@deploy-7: "UI maintenance test"/)
    assert.deepEqual(admin.calls, [['setReadOnly', true, 'UI maintenance test', undefined]])
    ui.unmount()
  })

  it('takes the suggested message on Enter with nothing typed', async () => {
    const { admin, ui } = await openDialog()
    ui.stdin.write(KEY.enter)
    await frame(ui.lastFrame, 'Turn it off by itself after')
    ui.stdin.write('2h\r')
    await frame(ui.lastFrame, 'Turn read-only ON with "Maintenance in progress, back soon" for 2h? (y/N)')
    ui.stdin.write('y')
    await frame(ui.lastFrame, 'read-only is ON')
    assert.deepEqual(admin.calls, [['setReadOnly', true, 'Maintenance in progress, back soon', '2h']])
    ui.unmount()
  })

  it('says what is wrong with a time limit it cannot read, and takes a corrected one', async () => {
    const { admin, ui } = await openDialog()
    ui.stdin.write('Back soon\r')
    await frame(ui.lastFrame, 'Turn it off by itself after')
    ui.stdin.write('90\r')
    await frame(ui.lastFrame, 'the time limit takes a duration such as 30m, 2h, 90s or 1d (at most 30d), got "90"')
    ui.stdin.write('\u0015')
    ui.stdin.write('90s\r')
    await frame(ui.lastFrame, 'Turn read-only ON with "Back soon" for 90s? (y/N)')
    assert.deepEqual(admin.calls, [])
    ui.unmount()
  })

  it('takes a message and a time limit pasted with their Enters in one chunk', async () => {
    const { ui } = await openDialog()
    ui.stdin.write('Back at noon\r2h\r')
    await frame(ui.lastFrame, 'Turn read-only ON with "Back at noon" for 2h? (y/N)')
    ui.unmount()
  })

  it('takes ctrl-u, text, a backspace and Enters read in one chunk, as a busy terminal delivers them', async () => {
    const { ui } = await openDialog()
    ui.stdin.write('Back\u0015Back in 5 minutex\u007fs\r\r')
    await frame(ui.lastFrame, 'Turn read-only ON with "Back in 5 minutes" until turned off? (y/N)')
    ui.unmount()
  })

  it('typeInto replays keys on a line and stops at Enter, keeping what follows', () => {
    assert.deepEqual(typeInto('old', '\u0015new'), { text: 'new', enter: false, rest: '' })
    assert.deepEqual(typeInto('ab', '\u007f\bc\u0001d'), { text: 'cd', enter: false, rest: '' })
    assert.deepEqual(typeInto('', 'é ok\r2h\r'), { text: 'é ok', enter: true, rest: '2h\r' })
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
