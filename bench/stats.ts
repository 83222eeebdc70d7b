// Latency summaries. Percentiles by nearest rank over every sample (no histogram buckets).
export interface LatencyStats {
  count: number
  p50: number
  p99: number
  max: number
}

export function summarize(samples: number[]): LatencyStats {
  if (samples.length === 0) return { count: 0, p50: NaN, p99: NaN, max: NaN }
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! }
}
