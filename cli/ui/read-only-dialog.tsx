/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, Text, useInput } from 'ink'
import { useState } from 'react'
import { parseDuration } from '../../lib/api/read-only.ts'
import { errorMessage } from '../../lib/errors.ts'
import type { ReadOnlyState, UiAdmin } from './admin.ts'
import { colour } from './look.ts'
import { useLive } from './use-live.ts'

/** The banner message sent when the operator types none (Enter on an empty line). */
export const SUGGESTED_MESSAGE = 'Maintenance in progress, back soon'

type Step =
  | { kind: 'message'; text: string }
  | { kind: 'duration'; message: string; text: string; problem: string | null }
  | { kind: 'confirm'; on: boolean; message: string; duration: string | null }
  | { kind: 'working' }
  | { kind: 'error'; text: string }

/**
 * Turns read-only on (a banner message, how long, then a confirmation) or off (a confirmation).
 * Both lines start empty: what is typed is the answer, and Enter on an empty line takes the
 * suggestion shown beside it (the suggested message; no time limit). `current` is the state the
 * dashboard shows; onDone gets the new one, or null if nothing changed.
 */
export function ReadOnlyDialog(props: { admin: UiAdmin; current: ReadOnlyState | null; onDone: (state: ReadOnlyState | null) => void }) {
  const { admin, current, onDone } = props
  const [step, setStep] = useState<Step>(() =>
    current?.readOnly ? { kind: 'confirm', on: false, message: '', duration: null } : { kind: 'message', text: '' },
  )

  const apply = (on: boolean, message: string, duration: string | null) => {
    setStep({ kind: 'working' })
    admin
      .setReadOnly(on, on ? message : undefined, duration ?? undefined)
      .then(onDone, (err) => setStep({ kind: 'error', text: errorMessage(err) }))
  }

  useInput((input, key) => {
    if (step.kind === 'working') return
    if (step.kind === 'error') return onDone(null)
    if (key.escape) return onDone(null)
    if (step.kind === 'message' || step.kind === 'duration') {
      // Keys can arrive faster than renders (a paste): each edit builds on the latest step.
      const chunk = key.return ? '\r' : key.backspace || key.delete ? '\u007f' : key.ctrl && input === 'u' ? '\u0015' : input
      if (chunk && (!key.ctrl || input === 'u') && !key.meta) setStep((s) => typeIntoStep(s, chunk))
      return
    }
    if (input === 'y' || input === 'Y') apply(step.on, step.message, step.duration)
    else onDone(null)
  })
  const live = useLive()

  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      {step.kind === 'message' || step.kind === 'duration' ? (
        <>
          <Text bold>Turn read-only ON: writes by the app are refused, reads go on.</Text>
          {live && step.kind === 'message' && <Text>Banner message for the app (enter: next, esc: back, ctrl-u: clear):</Text>}
          {live && step.kind === 'duration' && <Text>Turn it off by itself after (30m, 2h, 1d; enter: next, esc: back):</Text>}
          {live && (
            <Text>
              {`> ${step.text}█`}
              {step.text === '' && (
                <Text dimColor>{step.kind === 'message' ? `   empty: "${SUGGESTED_MESSAGE}"` : '   empty: on until turned off'}</Text>
              )}
            </Text>
          )}
          {live && step.kind === 'duration' && step.problem && <Text color={colour('red')}>{step.problem}</Text>}
        </>
      ) : step.kind === 'confirm' ? (
        <Text bold>
          {step.on
            ? `Turn read-only ON with "${step.message}" ${step.duration ? `for ${step.duration}` : 'until turned off'}? (y/N)`
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
 * Applies a chunk of typed keys to the message or duration line. Enter on the message goes on to
 * the duration with the rest of the chunk (keys typed ahead); Enter on the duration checks it and
 * asks for the confirmation, whose answer is never taken from keys typed before it showed.
 */
export function typeIntoStep(step: Step, chunk: string): Step {
  if (step.kind === 'message') {
    const line = typeInto(step.text, chunk)
    if (!line.enter) return { kind: 'message', text: line.text }
    const message = line.text.trim() === '' ? SUGGESTED_MESSAGE : line.text
    return typeIntoStep({ kind: 'duration', message, text: '', problem: null }, line.rest)
  }
  if (step.kind !== 'duration') return step
  const line = typeInto(step.text, chunk)
  if (!line.enter) return { ...step, text: line.text }
  const duration = line.text.trim()
  if (duration === '') return { kind: 'confirm', on: true, message: step.message, duration: null }
  try {
    parseDuration(duration, 'the time limit')
  } catch (err) {
    return { ...step, text: line.text, problem: errorMessage(err) }
  }
  return { kind: 'confirm', on: true, message: step.message, duration }
}

/**
 * Applies a chunk of typed keys to a line: ctrl-u clears, backspace deletes, Enter ends the line
 * (`rest` is what follows it), other control characters are ignored.
 */
export function typeInto(text: string, chunk: string): { text: string; enter: boolean; rest: string } {
  const chars = [...chunk]
  for (const [i, c] of chars.entries()) {
    if (c === '\r' || c === '\n') return { text, enter: true, rest: chars.slice(i + 1).join('') }
    if (c === '\u0015') text = ''
    else if (c === '\u007f' || c === '\b') text = [...text].slice(0, -1).join('')
    else if (c >= ' ') text += c
  }
  return { text, enter: false, rest: '' }
}
