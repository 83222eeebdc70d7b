// The JSON log (`--log-format json`): which events become entries, and how a throttled run's
// repeats are folded. An emitter and a pino logger writing into memory: no database.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import pino from 'pino'
import { EvolveEmitter } from '../../lib/core/events.ts'
import { THROTTLE_LOG_EVERY_MS, logEvents } from '../../lib/observe/log-events.ts'

type Entry = Record<string, unknown> & { event?: string; msg?: string; level?: number }

/** An emitter logged into `entries`, with a clock the test moves. */
function logged() {
  const entries: Entry[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) entries.push(JSON.parse(line) as Entry)
      done()
    },
  })
  const clock = { ms: 0 }
  const events = new EvolveEmitter()
  logEvents(events, pino({ base: null }, sink), () => clock.ms)
  return { events, entries, clock }
}

const throttled = (reason: string) => ({ run: 'r', source: 'hook' as const, reason, ms: 100 })

describe('the JSON log', () => {
  it('logs a throttle reason once, then again only after a while with how often it came meanwhile', () => {
    const { events, entries, clock } = logged()
    for (let i = 0; i < 50; i++) {
      events.emit('throttled', throttled('replica lagging'))
      clock.ms += 100
    }
    assert.equal(entries.length, 1, 'fifty waits of one reason within 5 s: one entry')
    clock.ms = THROTTLE_LOG_EVERY_MS + 1
    events.emit('throttled', throttled('replica lagging'))
    assert.equal(entries.length, 2)
    assert.equal(entries[1]!.repeats, 49, 'the folded repeats are counted')
  })

  it('folds a built-in source’s holds whatever live figures their reasons carry', () => {
    const { events, entries } = logged()
    for (const ms of [1234, 1301, 1188])
      events.emit('throttled', { run: 'r', source: 'replication_lag', reason: `replication lag ${ms} ms > 1000 ms`, ms: 100 })
    assert.equal(entries.length, 1)
  })

  it('logs a new throttle reason at once, and a run that ended starts afresh', () => {
    const { events, entries } = logged()
    events.emit('throttled', throttled('replica lagging'))
    events.emit('throttled', throttled('app slow'))
    events.emit('throttled', throttled('app slow'))
    assert.deepEqual(
      entries.map((e) => e.reason),
      ['replica lagging', 'app slow'],
    )
    events.emit('run:end', { run: 'r', state: 'done', done: 1, failed: 0, error: null })
    events.emit('throttled', throttled('app slow'))
    assert.equal(entries.filter((e) => e.event === 'throttled').length, 3)
  })

  it('has entries for the read-only switch and the snapshot steps, as the pretty output prints them', () => {
    const { events, entries } = logged()
    events.emit('read-only', { readOnly: true, message: 'm', tables: ['users'], since: null, by: 'run x', expiresAt: null })
    events.emit('snapshot:step', { run: 'x', step: 'swap', table: 'users' })
    events.emit('read-only', { readOnly: false, message: null, tables: null, since: null, by: null, expiresAt: null })
    assert.deepEqual(
      entries.map((e) => [e.event, e.msg]),
      [
        ['read-only', 'read-only: on for users (by run x)'],
        ['snapshot:step', 'x: snapshot of users: swap'],
        ['read-only', 'read-only: off'],
      ],
    )
    assert.deepEqual(entries[0]!.tables, ['users'])
  })

  it('gives batch durations to a tenth of a millisecond, not float noise, and names the worker', () => {
    const { events, entries } = logged()
    events.emit('batch:done', { run: 'r', batchId: 1, phase: 'scan', rows: 10, durationMs: 906.1735370000001, retries: 0, worker: 'w-1' })
    assert.equal(entries[0]!.durationMs, 906.2)
    assert.equal(entries[0]!.worker, 'w-1')
  })
})
