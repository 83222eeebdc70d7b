import { useStdout } from 'ink'
import { useEffect, useState } from 'react'

/** Columns and rows of the terminal, following resizes. */
export function useTerminalSize(fixed?: { width: number; height: number }): { width: number; height: number } {
  const { stdout } = useStdout()
  const read = () => fixed ?? { width: stdout.columns || 80, height: stdout.rows || 24 }
  const [size, setSize] = useState(read)
  useEffect(() => {
    if (fixed) return
    const on = () => setSize(read())
    stdout.on('resize', on)
    return () => {
      stdout.off('resize', on)
    }
  })
  return size
}
