// Scenario 2: what the app feels while the table is evolved under it. The app (a child process)
// reads and writes random rows at a steady rate; we measure it with no migration, then during
// (a) the raw UPDATE, (d) evolvekit set and (e) evolvekit transform, each on a fresh table.
import { setTimeout as sleep } from 'node:timers/promises'
import { type AppImpact, startApp } from '../app-handle.ts'
import { type BenchDatabase, withKnex, withSql } from '../databases.ts'
import { runEvolve } from '../methods/evolvekit.ts'
import { keysetBatchLoop, rawUpdate } from '../methods/hand-written.ts'
import { fmt, log } from '../progress.ts'
import { createUsers } from '../users-table.ts'

export const APP_LOAD = { rate: 200, connections: 2 } // 2 readers + 2 writers, 200 ops/s in all

export type LiveId = 'none' | 'a' | 'c' | 'd' | 'e'

export const LIVE_LABELS: Record<LiveId, string> = {
  none: 'no migration (baseline)',
  a: 'during (a) raw UPDATE',
  c: 'during (c) hand-written keyset loop',
  d: 'during (d) evolvekit set',
  e: 'during (e) evolvekit transform',
}

export interface LiveCondition extends AppImpact {
  id: LiveId
  label: string
  /** How long the migration took (the window), seconds. */
  migrationSeconds: number | null
  /** Write p99 ÷ the baseline's write p99 (same run). */
  writeP99Ratio: number
  /** Share of the migration's duration during which some app write was stuck for over 100 ms. */
  writesBlockedShare: number | null
}

export interface LiveImpactResult {
  dialect?: string
  rows: number
  app: typeof APP_LOAD
  conditions: LiveCondition[]
}

async function migrate(db: BenchDatabase, id: LiveId, baselineSeconds: number): Promise<number | null> {
  if (id === 'none') {
    await sleep(baselineSeconds * 1000)
    return null
  }
  const t0 = performance.now()
  if (id === 'a') await withSql(db, rawUpdate)
  else if (id === 'c') await withSql(db, (sql) => keysetBatchLoop(sql))
  else await withKnex(db, (knex) => runEvolve(knex, id === 'd' ? 'set' : 'transform'))
  return (performance.now() - t0) / 1000
}

export async function liveImpact(db: BenchDatabase, rows: number, baselineSeconds: number): Promise<LiveImpactResult> {
  const conditions: LiveCondition[] = []
  // SQLite: the hand-written loop too, the method evolvekit's pause after a batch competes with.
  const ids: LiveId[] = db.dialect === 'sqlite' ? ['none', 'a', 'c', 'd', 'e'] : ['none', 'a', 'd', 'e']
  for (const id of ids) {
    await withSql(db, (sql) => createUsers(sql, rows))
    const app = await startApp({ url: db.url, maxId: rows, ...APP_LOAD })
    app.start()
    let migrationSeconds: number | null
    try {
      migrationSeconds = await migrate(db, id, baselineSeconds)
    } catch (error) {
      await app.stop().catch(() => {}) // or the app child (and its IPC channel) would keep the bench alive
      throw error
    }
    const impact = await app.stop()
    conditions.push({
      id,
      label: LIVE_LABELS[id],
      ...impact,
      migrationSeconds,
      writeP99Ratio: NaN,
      writesBlockedShare: migrationSeconds === null ? null : impact.writesBlockedMs / 1000 / migrationSeconds,
    })
    log(
      `live/${db.dialect}: ${LIVE_LABELS[id]}: ${fmt(impact.seconds, 1)} s, reads p99 ${fmt(impact.reads.p99, 1)} ms, ` +
        `writes p99 ${fmt(impact.writes.p99, 1)} ms max ${fmt(impact.writes.max, 0)} ms, errors ${impact.errors}`,
    )
  }
  const baseline = conditions[0]!.writes.p99
  for (const c of conditions) c.writeP99Ratio = c.writes.p99 / baseline
  return { dialect: db.dialect, rows, app: APP_LOAD, conditions }
}
