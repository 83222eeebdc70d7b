/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, Text } from 'ink'
import type { ReadOnlyState } from './admin.ts'
import { clock, colour, fit } from './look.ts'
import { plural } from '../../lib/plural.ts'

/** The top line (where, how many, workers) and, whenever read-only is on, its banner (with when it turns itself off, if it does). */
export function Header(props: { target: string; migrations: number; workers: number; readOnly: ReadOnlyState | null; width: number }) {
  const { target, migrations, workers, readOnly, width } = props
  const left = ` evolvekit · ${target} · ${plural(migrations, 'migration')} · ${plural(workers, 'worker')}`
  return (
    <Box flexDirection="column">
      <Text bold>{fit(left, width - 7) + ' ? help'}</Text>
      {readOnly?.readOnly ? (
        <Text color={colour('black')} backgroundColor={colour('yellow')} bold>
          {fit(
            ` ▌READ-ONLY since ${readOnly.since ? clock(readOnly.since) : '?'}${readOnly.expiresAt ? ` until ${clock(readOnly.expiresAt)}` : ''} by ${readOnly.by ?? '?'}${readOnly.message ? `: "${readOnly.message}"` : ''}`,
            width,
          )}
        </Text>
      ) : null}
    </Box>
  )
}

export function Rule(props: { width: number }) {
  return <Text dimColor>{' ' + '─'.repeat(Math.max(0, props.width - 2))}</Text>
}
