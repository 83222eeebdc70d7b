import type { Facts, SnapshotFacts } from './context.ts'

export interface Summary {
  ok: boolean
  seconds: number
  rowsEvolved: Record<string, number>
  killedAt: { migration: string; batch: number | null; done: number; of: number; takenOver: boolean } | null
  requestsServed: number
  appLatencyMs: { p50: number; p99: number; max: number } | null
  appErrors: number
  conflictsRetriedByApp: number
  /** The `mode: 'readonly'` run: the banner the app showed, and the writes refused while it ran. */
  readOnly: { migration: string; banner: string; refused: number; retriedOk: number } | null
  /** The `mode: 'snapshot'` run: its read-only window, the app's reads meanwhile and their errors (must be 0), its writes refused and retried, the backup. */
  snapshot: SnapshotFacts | null
  writesRefused: number
  writesRetriedOk: number
  writesNeverAccepted: number
  writesLost: number
  rowsEvolvedTwice: number
  rowsOutOfShape: number
  /** What went wrong, when ok is false. */
  problems: string[]
}

/** The figures the demo ends with; `ok` only if every must-be-0 figure is 0 and every step ran. */
export function summarize(facts: Facts, seconds: number, failure: Error | null): Summary {
  const app = facts.app
  const sum = (o: Record<string, number> | undefined) => Object.values(o ?? {}).reduce((a, b) => a + b, 0)
  const s: Summary = {
    ok: false,
    seconds,
    rowsEvolved: Object.fromEntries((facts.runs ?? []).map((r) => [r.name, r.done])),
    killedAt: facts.kill
      ? {
          migration: facts.kill.migration,
          batch: facts.kill.batch,
          done: facts.kill.doneAtKill,
          of: facts.kill.pending,
          takenOver: facts.kill.takenOver,
        }
      : null,
    requestsServed: app?.served ?? 0,
    appLatencyMs: app?.latencyMs ?? null,
    appErrors: app?.errors ?? 0,
    conflictsRetriedByApp: app?.conflictsRetried ?? 0,
    readOnly: facts.readOnly ?? null,
    snapshot: facts.snapshot ?? null,
    writesRefused: app?.writesRefused ?? 0,
    writesRetriedOk: app?.writesRetriedOk ?? 0,
    writesNeverAccepted: app?.writesWaiting ?? 0,
    writesLost: facts.lostWrites?.length ?? 0,
    rowsEvolvedTwice: sum(facts.evolvedTwice),
    rowsOutOfShape: sum(facts.outOfShape),
    problems: [],
  }
  if (failure) s.problems.push(failure.message)
  if (!facts.outOfShape) s.problems.push('the demo did not get to its checks')
  for (const r of facts.runs ?? []) if (r.state !== 'done') s.problems.push(`${r.name} ended ${r.state}`)
  if (facts.runs && facts.kill && !facts.kill.takenOver) s.problems.push(`the resumed run did not take over batch ${facts.kill.batch}`)
  if (s.appErrors > 0) s.problems.push(`the app met ${s.appErrors} errors: ${app!.errorSamples.join('; ')}`)
  if (facts.outOfShape && s.writesRefused === 0) s.problems.push('no write was refused during read-only: the read-only step showed nothing')
  const snap = facts.snapshot
  if (facts.outOfShape && !snap) s.problems.push('the snapshot step did not run')
  if (snap && snap.readerErrors > 0)
    s.problems.push(`${snap.readerErrors} of the app's reads failed or saw an incomplete table during the snapshot run`)
  if (snap && snap.refused === 0) s.problems.push('no write met the snapshot read-only window: the snapshot step showed nothing')
  if (s.writesNeverAccepted > 0) s.problems.push(`${s.writesNeverAccepted} refused writes were never accepted`)
  if (s.writesLost > 0) s.problems.push(`${s.writesLost} accepted writes are not in the database`)
  if (s.rowsEvolvedTwice > 0) s.problems.push(`rows evolved twice: ${JSON.stringify(facts.evolvedTwice)}`)
  for (const [what, n] of Object.entries(facts.outOfShape ?? {})) if (n > 0) s.problems.push(`${n} ${what}`)
  s.ok = s.problems.length === 0
  return s
}

/** Plain lines, one figure each. */
export function summaryLines(s: Summary): string[] {
  const zero = (n: number) => `${n}${n === 0 ? '' : '   <-- must be 0'}`
  return [
    'Summary',
    ...Object.entries(s.rowsEvolved).map(([name, n]) => `  rows evolved   ${name}: ${n}`),
    s.killedAt
      ? `  runner killed  with SIGKILL inside batch ${s.killedAt.batch} of ${s.killedAt.migration}, ${s.killedAt.done} of ${s.killedAt.of} rows done; ${s.killedAt.takenOver ? 'the resumed run took the batch over' : 'NOT taken over'}`
      : '',
    `  app requests served: ${s.requestsServed} (conflicts the app retried: ${s.conflictsRetriedByApp})`,
    s.appLatencyMs ? `  app latency: p50 ${s.appLatencyMs.p50} ms, p99 ${s.appLatencyMs.p99} ms, max ${s.appLatencyMs.max} ms` : '',
    `  app errors: ${zero(s.appErrors)}`,
    s.readOnly ? `  read-only     during ${s.readOnly.migration}: the app's banner said "${s.readOnly.banner}"` : '',
    s.snapshot
      ? `  snapshot      ${s.snapshot.migration}: ${s.snapshot.table} read-only for ${(s.snapshot.readOnlyMs / 1000).toFixed(1)} s, ${s.snapshot.rows} rows evolved in the copy and swapped in; backup ${s.snapshot.backup} (${s.snapshot.backupRows} rows)`
      : '',
    s.snapshot
      ? `  snapshot      the app's reads meanwhile: ${s.snapshot.reads}, reader errors: ${zero(s.snapshot.readerErrors)}; its writes refused: ${s.snapshot.refused}, accepted after: ${s.snapshot.retriedOk}`
      : '',
    `  writes refused during read-only: ${s.writesRefused}${s.writesRefused === 0 ? '   <-- must be more than 0' : ''}, retried later and accepted: ${s.writesRetriedOk}, never accepted: ${zero(s.writesNeverAccepted)}`,
    `  writes lost: ${zero(s.writesLost)}`,
    `  rows evolved twice: ${zero(s.rowsEvolvedTwice)}`,
    `  rows left in the old shape: ${zero(s.rowsOutOfShape)}`,
    `  time taken: ${s.seconds.toFixed(1)} s`,
    ...s.problems.map((p) => `  PROBLEM: ${p}`),
    s.ok ? 'demo: ok' : 'demo: FAILED',
  ].filter((line) => line !== '')
}
