import { useEffect, useState } from 'react'
import { errorMessage } from '../../lib/errors.ts'
import { throttleHold } from '../../lib/api/events.ts'
import type { UiAdmin, UiEvent, UiSnapshot } from './admin.ts'

const KEEP_EVENTS = 300
/** Rate samples per run: one a second, five minutes' worth. */
const KEEP_RATES = 300

export interface Dashboard {
  snapshot: UiSnapshot | null
  /** Why the last refresh failed (the database went away…), or null. */
  error: string | null
  events: UiEvent[]
  rates: Map<string, number[]>
  refresh(): void
}

/** Reads the admin layer's snapshot once a second (never two at once) and collects its events. */
export function useDashboard(admin: UiAdmin, intervalMs = 1000): Dashboard {
  const [snapshot, setSnapshot] = useState<UiSnapshot | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [events, setEvents] = useState<UiEvent[]>([])
  const [rates] = useState(() => new Map<string, number[]>())
  const [kick, setKick] = useState(0)

  useEffect(() => {
    let stopped = false
    let timer: NodeJS.Timeout | undefined
    const tick = async () => {
      try {
        const s = await admin.snapshot()
        if (stopped) return
        for (const row of s.rows) {
          const series = rates.get(row.name) ?? []
          // An ended or paused run's rowsPerSecond is its average over the run: no rate now, so 0,
          // and its sparkline decays to ▁ as the samples of its last running minute slide out.
          series.push(row.progress.state === 'running' ? (row.progress.rowsPerSecond ?? 0) : 0)
          rates.set(row.name, series.slice(-KEEP_RATES))
        }
        setSnapshot(s)
        setError(null)
      } catch (err) {
        if (!stopped) setError(errorMessage(err))
      }
      if (!stopped) timer = setTimeout(tick, intervalMs)
    }
    void tick()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [admin, intervalMs, kick, rates])

  useEffect(() => {
    const on = (e: UiEvent) => setEvents((all) => folded(all, e).slice(-KEEP_EVENTS))
    admin.events.on('event', on)
    return () => {
      admin.events.off('event', on)
    }
  }, [admin])

  return { snapshot, error, events, rates, refresh: () => setKick((k) => k + 1) }
}

/**
 * `all` with `e` added. A run held back again and again for the same reason (a rate limit throttles
 * every ~100 ms per worker) is one line: a `throttled` replaces that run's previous event when that
 * one is the same hold, counting `repeats`, so the holds neither flood the pane nor push other events out.
 */
function folded(all: UiEvent[], e: UiEvent): UiEvent[] {
  if (e.name !== 'throttled') return [...all, e]
  let i = all.length - 1
  while (i >= 0 && all[i]!.data.run !== e.data.run) i--
  const last = all[i]
  if (!last || last.name !== 'throttled' || !sameHold(last.data, e.data)) return [...all, e]
  return [...all.slice(0, i), ...all.slice(i + 1), { ...e, repeats: (last.repeats ?? 1) + 1 }]
}

function sameHold(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const hold = (d: Record<string, unknown>) => throttleHold({ source: String(d.source), reason: String(d.reason) })
  return hold(a) === hold(b)
}
