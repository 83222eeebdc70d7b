// Parent side of bench/app-load.ts: fork the app, open and close its measurement window.
import { fork } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AppLoadConfig, AppSample, FromChild, ToChild } from './app-load.ts'
import { type LatencyStats, summarize } from './stats.ts'

const here = path.dirname(fileURLToPath(import.meta.url))

export interface AppImpact {
  seconds: number
  reads: LatencyStats
  writes: LatencyStats
  /** Statement time of writes alone (lock waits, without queueing behind earlier writes). */
  writeService: LatencyStats
  /** Writes that waited more than 100 ms from their scheduled start. */
  writesOver100ms: number
  /** How long at least one write statement was stuck (running for more than 100 ms), ms. */
  writesBlockedMs: number
  errors: number
  errorMessages: string[]
}

export interface RunningApp {
  /** Opens the window: only operations scheduled from now on are measured. */
  start(): void
  /** Closes the window, waits for every operation scheduled in it, and summarises. */
  stop(): Promise<AppImpact>
}

const BLOCKED_MS = 100

/** Length of the union of the intervals during which a write statement had run for over 100 ms. */
function blockedMs(samples: AppSample[]): number {
  const spans = samples
    .filter((s) => s.kind === 'write' && s.serviceMs > BLOCKED_MS)
    .map((s) => [s.sentMs + BLOCKED_MS, s.sentMs + s.serviceMs] as const)
    .sort((a, b) => a[0] - b[0])
  let total = 0
  let end = -Infinity
  for (const [from, to] of spans) {
    total += Math.max(0, to - Math.max(from, end))
    end = Math.max(end, to)
  }
  return total
}

function impactOf(result: Extract<FromChild, { type: 'result' }>): AppImpact {
  const of = (kind: AppSample['kind'], field: 'responseMs' | 'serviceMs') =>
    result.samples.filter((s) => s.kind === kind).map((s) => s[field])
  const writes = of('write', 'responseMs')
  return {
    seconds: result.seconds,
    reads: summarize(of('read', 'responseMs')),
    writes: summarize(writes),
    writeService: summarize(of('write', 'serviceMs')),
    writesOver100ms: writes.filter((ms) => ms > BLOCKED_MS).length,
    writesBlockedMs: blockedMs(result.samples),
    errors: result.errors,
    errorMessages: result.errorMessages,
  }
}

export async function startApp(config: AppLoadConfig): Promise<RunningApp> {
  const child = fork(path.join(here, 'app-load.ts'), [JSON.stringify(config)], {
    cwd: path.join(here, '..'),
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = <T extends FromChild['type']>(type: T) =>
    new Promise<Extract<FromChild, { type: T }>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`bench/app-load exited (${code}) before "${type}"`))
      child.once('close', onExit) // 'close' (not 'exit'): after the IPC channel delivered what it had
      child.on('message', function listener(message: FromChild) {
        if (message.type !== type) return
        child.off('message', listener)
        child.off('close', onExit)
        resolve(message as Extract<FromChild, { type: T }>)
      })
    })
  const send = (message: ToChild) => child.send(message)
  await next('ready')
  return {
    start: () => send({ type: 'start' }),
    async stop() {
      const result = next('result')
      send({ type: 'stop' })
      const impact = impactOf(await result)
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve))
      return impact
    },
  }
}
