/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Text, useInput } from 'ink'
import { useLive } from './use-live.ts'

/** One question; y answers yes, anything else no. */
export function ConfirmDialog(props: { question: string; onAnswer: (yes: boolean) => void }) {
  useInput((input) => props.onAnswer(input === 'y' || input === 'Y'))
  const live = useLive()
  return <Text bold>{` ${props.question}${live ? ' (y/N)' : ''}`}</Text>
}
