import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Crash tests only: while the file named by EVOLVE_SNAPSHOT_HOLD_FILE holds `point`
 * (`copy`, `swap`, `swapped`), the run waits there after printing one line, so a test can
 * kill -9 it at an exact step instead of guessing with timers. Without the variable: nothing.
 */
export async function holdPoint(point: string): Promise<void> {
  const file = process.env.EVOLVE_SNAPSHOT_HOLD_FILE
  if (!file) return
  const read = () => {
    try {
      return readFileSync(file, 'utf8').trim()
    } catch {
      return ''
    }
  }
  if (read() !== point) return
  process.stdout.write(`[snapshot] holding at ${point}\n`)
  while (read() === point) await sleep(10)
}
