/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, type Key, Text, useApp, useInput } from 'ink'
import { useEffect, useRef, useState } from 'react'
import { errorMessage } from '../../lib/errors.ts'
import type { UiAdmin, UiEvent } from './admin.ts'
import { ConfirmDialog } from './confirm-dialog.tsx'
import { describeEvent } from './describe-event.ts'
import { DetailPane } from './detail-pane.tsx'
import { FailuresView } from './failures-view.tsx'
import { Footer } from './footer.tsx'
import { Header, Rule } from './header.tsx'
import { HelpScreen } from './help-screen.tsx'
import { ReadOnlyDialog } from './read-only-dialog.tsx'
import { RunTable } from './run-table.tsx'
import { useDashboard } from './use-dashboard.ts'
import { useTerminalSize } from './use-terminal-size.ts'

export const MIN_SIZE = { width: 60, height: 16 }

type Mode = 'main' | 'help' | 'failures' | 'read-only' | 'confirm-cancel' | 'quitting'

/** `evolve ui`: the dashboard, its detail pane, dialogs and keys. */
export function App(props: { admin: UiAdmin; size?: { width: number; height: number }; refreshMs?: number }) {
  const { admin } = props
  const { exit } = useApp()
  const { width, height } = useTerminalSize(props.size)
  const dash = useDashboard(admin, props.refreshMs)
  const [selected, setSelected] = useState(0)
  const [mode, setMode] = useState<Mode>('main')
  const [notice, setNotice] = useState<string | null>(null)
  const rows = dash.snapshot?.rows ?? []
  const index = Math.max(0, Math.min(selected, rows.length - 1))
  const row = rows[index]
  // Key handlers can run before the effect that hands them this render's values: read these.
  const latest = useRef({ rows, row })
  latest.current = { rows, row }
  // "… runs in this process" is true only until that run ends: then the footer says how it ended.
  useEffect(() => {
    const ended = (e: UiEvent) => {
      if (e.name === 'local:end') setNotice(`${String(e.data.run)}: ${describeEvent(e)}`)
    }
    admin.events.on('event', ended)
    return () => {
      admin.events.off('event', ended)
    }
  }, [admin])

  const act = <T,>(doing: string, work: () => Promise<T>, done: (r: T) => string) => {
    setNotice(doing)
    work().then(
      (r) => {
        setNotice(done(r))
        dash.refresh()
      },
      (err) => setNotice(errorMessage(err)),
    )
  }

  const quit = () => {
    setMode('quitting')
    admin.stopAll().finally(() => exit())
  }

  /** One key of the dashboard; 'stop' once it opened a view or a dialog, or quit. */
  const mainKey = (input: string, key: Key): 'stop' | 'go on' => {
    const stop = (change: () => void) => (change(), 'stop' as const)
    const goOn = (change: () => void) => (change(), 'go on' as const)
    if (input === 'q' || (key.ctrl && input === 'c')) return stop(quit)
    if (input === '?') return stop(() => setMode('help'))
    const { rows, row } = latest.current
    if (key.upArrow) return goOn(() => setSelected((s) => Math.max(0, Math.min(s, rows.length - 1) - 1)))
    if (key.downArrow) return goOn(() => setSelected((s) => Math.max(0, Math.min(rows.length - 1, s + 1))))
    if (input === 'o') return stop(() => (admin.hasReadOnly ? setMode('read-only') : setNotice('read-only switch not available')))
    if (!row) return 'go on'
    const name = row.name
    if (input === 'r')
      act(
        `starting ${name} here…`,
        () => admin.run(name),
        () => `${name} runs in this process`,
      )
    else if (input === 'p')
      act(
        `pausing ${name}…`,
        () => admin.pause(name),
        (s) => `${name}: ${s}`,
      )
    else if (input === 'u')
      act(
        `resuming ${name}…`,
        () => admin.resume(name),
        (s) => `${name}: ${s}`,
      )
    else if (input === 'c') return stop(() => setMode('confirm-cancel'))
    else if (input === '+' || input === '=')
      act(
        'raising the batch size…',
        () => admin.scaleBatchSize(name, 2),
        (n) => batchSizeSet(name, n),
      )
    else if (input === '-')
      act(
        'lowering the batch size…',
        () => admin.scaleBatchSize(name, 0.5),
        (n) => batchSizeSet(name, n),
      )
    else if (input === 'f') return stop(() => setMode('failures'))
    return 'go on'
  }

  useInput(
    (input, key) => {
      // Keys typed faster than the terminal is read arrive as one string ("++"): each is taken in
      // turn, up to one that opens a view or a dialog (the rest was typed before it showed).
      const keys = input.length > 1 && !key.ctrl && !key.meta ? [...input] : [input]
      for (const k of keys) if (mainKey(k, key) === 'stop') break
    },
    { isActive: mode === 'main' },
  )
  // Ctrl-C quits from anywhere, even inside a dialog.
  useInput((input, key) => key.ctrl && input === 'c' && quit(), { isActive: mode !== 'main' && mode !== 'quitting' })
  useInput(() => setMode('main'), { isActive: mode === 'help' })

  if (width < MIN_SIZE.width || height < MIN_SIZE.height) {
    return <Text>{`terminal too small (${width}×${height}): evolve ui needs at least ${MIN_SIZE.width}×${MIN_SIZE.height}; q quits`}</Text>
  }
  if (mode === 'help') return <HelpScreen />
  if (mode === 'failures' && row) {
    return (
      <FailuresView
        admin={admin}
        name={row.name}
        failed={row.progress.failed}
        width={width}
        height={height - 1}
        onClose={() => setMode('main')}
      />
    )
  }

  const readOnly = dash.snapshot?.readOnly ?? null
  const banner = readOnly?.readOnly ? 1 : 0
  const problems = (dash.error ? 1 : 0) + (dash.snapshot?.problem ? 1 : 0)
  const room = Math.max(4, height - 8 - banner - problems)
  // The list takes what the detail pane can spare: its counts, rate and a few events (more on a tall terminal).
  const detailMin = Math.min(12, Math.max(6, Math.floor(room * 0.4)))
  const tableHeight = Math.max(1, Math.min(rows.length, room - detailMin))
  const workers = rows.reduce((n, r) => n + r.workers.length, 0)
  return (
    <Box flexDirection="column" width={width}>
      <Header target={admin.target} migrations={rows.length} workers={workers} readOnly={readOnly} width={width} />
      {dash.error ? <Text>{` cannot read the database: ${dash.error} (retrying)`}</Text> : null}
      {dash.snapshot?.problem ? <Text>{` ${dash.snapshot.problem}`}</Text> : null}
      <Rule width={width} />
      {dash.snapshot === null && !dash.error ? (
        <Text dimColor> loading…</Text>
      ) : (
        <RunTable rows={rows} selected={index} width={width} height={tableHeight} />
      )}
      <Rule width={width} />
      {mode === 'read-only' ? (
        <ReadOnlyDialog
          admin={admin}
          current={readOnly}
          onDone={(state) => {
            setMode('main')
            if (state) setNotice(state.readOnly ? 'read-only is ON' : 'read-only is off')
            dash.refresh()
          }}
        />
      ) : mode === 'confirm-cancel' && row ? (
        <ConfirmDialog
          question={`Cancel the run of ${row.name} on every machine?`}
          onAnswer={(yes) => {
            setMode('main')
            if (yes)
              act(
                `cancelling ${row.name}…`,
                () => admin.cancel(row.name),
                (s) => `${row.name}: ${s}`,
              )
          }}
        />
      ) : (
        <DetailPane
          row={row}
          events={dash.events}
          rates={row ? (dash.rates.get(row.name) ?? []) : []}
          width={width}
          height={room - tableHeight}
        />
      )}
      <Rule width={width} />
      <Footer notice={mode === 'quitting' ? 'stopping the runs driven here after their batch…' : notice} width={width} />
    </Box>
  )
}

/** What + and - say: the size set, and what runs when the rate limit caps batches below it. */
function batchSizeSet(name: string, { size, cap }: { size: number; cap: number | null }): string {
  const capped = cap !== null && cap < size ? `; rate limit caps it at ${cap}` : ''
  return `${name}: batch size ${size} (fixed${capped})`
}
