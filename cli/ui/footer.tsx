/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Text } from 'ink'
import { fit } from './look.ts'

export const KEYS: [string, string][] = [
  ['↑↓', 'select'],
  ['r', 'run'],
  ['p', 'pause'],
  ['u', 'resume'],
  ['c', 'cancel'],
  ['+/-', 'batch'],
  ['f', 'failures'],
  ['o', 'read-only'],
  ['q', 'quit'],
]

/** The key list at the bottom, and above it the last thing an action said. */
export function Footer(props: { notice: string | null; width: number }) {
  return (
    <>
      <Text>{' ' + fit(props.notice ?? '', props.width - 2)}</Text>
      <Text dimColor>{' ' + fit(keyLine(props.width - 2), props.width - 2)}</Text>
    </>
  )
}

/** Two spaces between keys where they fit, one where the terminal is narrow. */
function keyLine(width: number): string {
  const wide = KEYS.map(([k, what]) => `${k} ${what}`).join('  ')
  if (wide.length <= width) return wide
  return KEYS.map(([k, what]) => `${k} ${what === 'failures' ? 'fails' : what}`).join(' ')
}
