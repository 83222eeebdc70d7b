// Progress lines on stderr while the bench runs; the results table goes to stdout at the end.
const started = performance.now()

export function log(message: string): void {
  const s = ((performance.now() - started) / 1000).toFixed(0).padStart(4)
  process.stderr.write(`[${s}s] ${message}\n`)
}

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

/** Elapsed seconds of `fn`, with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now()
  const value = await fn()
  return { value, seconds: (performance.now() - t0) / 1000 }
}
