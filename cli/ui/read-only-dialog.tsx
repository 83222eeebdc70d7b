/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, Text, useInput } from 'ink'
import { useState } from 'react'
import { errorMessage } from '../../lib/errors.ts'
import type { ReadOnlyState, UiAdmin } from './admin.ts'
import { useLive } from './use-live.ts'

type Step =
  { kind: 'message'; text: string } | { kind: 'confirm'; on: boolean; text: string } | { kind: 'working' } | { kind: 'error'; text: string }

/**
 * Turns read-only on (a banner message, then a confirmation) or off (a confirmation).
 * `current` is the state the dashboard shows; onDone gets the new one, or null if nothing changed.
 */
export function ReadOnlyDialog(props: { admin: UiAdmin; current: ReadOnlyState | null; onDone: (state: ReadOnlyState | null) => void }) {
  const { admin, current, onDone } = props
  const [step, setStep] = useState<Step>(() =>
    current?.readOnly ? { kind: 'confirm', on: false, text: '' } : { kind: 'message', text: 'Maintenance in progress, back soon' },
  )

  const apply = (on: boolean, message: string) => {
    setStep({ kind: 'working' })
    admin.setReadOnly(on, message || undefined).then(onDone, (err) => setStep({ kind: 'error', text: errorMessage(err) }))
  }

  useInput((input, key) => {
    if (step.kind === 'working') return
    if (step.kind === 'error') return onDone(null)
    if (key.escape) return onDone(null)
    if (step.kind === 'message') {
      // Keys can arrive faster than renders (a paste): each edit builds on the latest text.
      const edit = (change: (text: string) => Step) => setStep((s) => (s.kind === 'message' ? change(s.text) : s))
      if (key.return) edit((text) => ({ kind: 'confirm', on: true, text }))
      else if (key.backspace || key.delete) edit((text) => ({ kind: 'message', text: text.slice(0, -1) }))
      else if (key.ctrl && input === 'u') edit(() => ({ kind: 'message', text: '' }))
      else if (input && !key.ctrl && !key.meta) {
        // Keys read in one chunk (a paste, or a busy machine) arrive as one string: replay them.
        edit((text) => {
          const line = typeInto(text, input)
          return line.enter ? { kind: 'confirm', on: true, text: line.text } : { kind: 'message', text: line.text }
        })
      }
      return
    }
    if (input === 'y' || input === 'Y') apply(step.on, step.text)
    else onDone(null)
  })
  const live = useLive()

  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      {step.kind === 'message' ? (
        <>
          <Text bold>Turn read-only ON: writes by the app are refused, reads go on.</Text>
          {live && <Text>Banner message for the app (enter: next, esc: back, ctrl-u: clear):</Text>}
          {live && <Text>{`> ${step.text}█`}</Text>}
        </>
      ) : step.kind === 'confirm' ? (
        <Text bold>
          {step.on
            ? `Turn read-only ON with "${step.text}"? (y/N)`
            : `Turn read-only OFF (on since ${current?.since ?? '?'} by ${current?.by ?? '?'})?${live ? ' (y/N)' : ''}`}
        </Text>
      ) : step.kind === 'working' ? (
        <Text>switching read-only…</Text>
      ) : (
        <Text>{`could not switch read-only: ${step.text} (any key: back)`}</Text>
      )}
    </Box>
  )
}

/**
 * Applies a chunk of typed keys to a line: ctrl-u clears, backspace deletes, Enter ends the line
 * (what follows it is dropped), other control characters are ignored.
 */
export function typeInto(text: string, chunk: string): { text: string; enter: boolean } {
  for (const c of chunk) {
    if (c === '\r' || c === '\n') return { text, enter: true }
    if (c === '\u0015') text = ''
    else if (c === '\u007f' || c === '\b') text = [...text].slice(0, -1).join('')
    else if (c >= ' ') text += c
  }
  return { text, enter: false }
}
