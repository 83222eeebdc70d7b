/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, Text, render } from 'ink'
import { useEffect, useState } from 'react'
import type { Evolve } from '../../lib/api/evolve.ts'
import type { RunProgress } from '../../lib/index.ts'
import { bar, count, doneFraction, eta, fit, stateColour } from './look.ts'

const REFRESH_MS = 250

/** `evolve run` on a terminal: one live line per migration (bar, rate, ETA, retries, throttle). */
function RunProgressView(props: { evolve: Evolve; names: string[] }) {
  const { evolve, names } = props
  const [runs, setRuns] = useState<Map<string, RunProgress>>(new Map())
  const [notes, setNotes] = useState<string[]>([])

  useEffect(() => {
    const dirty = new Set<string>()
    const mark = ({ run }: { run: string }) => void dirty.add(run)
    const note = (text: string) => setNotes((n) => [...n.slice(-4), text])
    const onFailed = ({ run, key, error }: { run: string; key: unknown; error: string }) =>
      note(`${run}: object ${JSON.stringify(key)} failed: ${error}`)
    const onEnd = ({ run, state, error }: { run: string; state: string; error: string | null }) => {
      mark({ run })
      if (error) note(`${run}: ${state}: ${error}`)
    }
    for (const name of ['run:start', 'run:total', 'batch:done', 'batch:retry', 'throttled', 'sweep', 'run:state'] as const)
      evolve.events.on(name, mark)
    evolve.events.on('object:failed', onFailed)
    evolve.events.on('run:end', onEnd)
    const timer = setInterval(async () => {
      const now = [...dirty]
      dirty.clear()
      for (const run of now) {
        const p = await evolve.progress(run).catch(() => null)
        if (p) setRuns((m) => new Map(m).set(run, p))
      }
    }, REFRESH_MS)
    return () => {
      clearInterval(timer)
      for (const name of ['run:start', 'run:total', 'batch:done', 'batch:retry', 'throttled', 'sweep', 'run:state'] as const)
        evolve.events.off(name, mark)
      evolve.events.off('object:failed', onFailed)
      evolve.events.off('run:end', onEnd)
    }
  }, [evolve])

  const width = Math.min(process.stdout.columns || 80, 160)
  const nameWidth = Math.min(40, Math.max(12, ...names.map((n) => n.length)))
  return (
    <Box flexDirection="column">
      {names.map((name) => {
        const p = runs.get(name)
        if (!p) return <Text key={name} dimColor>{`${fit(name, nameWidth)} waiting`}</Text>
        const fraction = doneFraction(p)
        const extra = [p.retries ? `${count(p.retries)} retries` : '', p.throttled ? `throttled: ${p.throttled}` : '']
          .filter(Boolean)
          .join(' · ')
        const line = `${bar(fraction, 20)} ${String(Math.floor(fraction * 100)).padStart(3)}% ${count(p.done)}/${count(p.total)} ${count(p.rowsPerSecond)} rows/s ETA ${eta(p.etaSeconds)}${extra ? ` · ${extra}` : ''}`
        return (
          <Text key={name}>
            {fit(name, nameWidth)} <Text color={stateColour(p.state)}>{fit(p.state, 9)}</Text>{' '}
            {fit(line, Math.max(10, width - nameWidth - 12))}
          </Text>
        )
      })}
      {notes.map((n, i) => (
        <Text key={i} dimColor>
          {fit(n, width - 1)}
        </Text>
      ))}
    </Box>
  )
}

/** Draws live progress until stop() is called; stop() leaves the last frame on screen. */
export function showLiveProgress(evolve: Evolve, names: string[]): { stop(): Promise<void> } {
  const ink = render(<RunProgressView evolve={evolve} names={names} />, { exitOnCtrlC: false, patchConsole: false })
  let stopped: Promise<void> | undefined
  return {
    stop() {
      stopped ??= (async () => {
        // One more refresh so the final state shows, then let go of the terminal.
        await new Promise((resolve) => setTimeout(resolve, REFRESH_MS + 50))
        ink.unmount()
        await ink.waitUntilExit()
      })()
      return stopped
    },
  }
}
