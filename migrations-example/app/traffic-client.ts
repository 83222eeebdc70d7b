// The demo's side of the app process: start it, ask it for its counters, deploy, stop.
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Ledger } from './ledger.ts'
import type { AppVersion } from './shapes.ts'
import type { TrafficReport } from './traffic.ts'

const ENTRY = fileURLToPath(new URL('./traffic-process.js', import.meta.url))

export interface TrafficProcess {
  child: ChildProcess
  /** The read-only banners the app showed, in order: the operator's message, or null once it went off. */
  banners: (string | null)[]
  report(): Promise<TrafficReport>
  /** Resolves once the app serves `version` and no request of the old version is in flight. */
  deploy(version: AppVersion): Promise<TrafficReport>
  /** Stops the app; its last counters and the ledger of every accepted write. */
  stop(): Promise<{ report: TrafficReport; ledger: Ledger }>
}

type Message =
  | { type: 'ready' }
  | { type: 'report'; report: TrafficReport }
  | { type: 'deployed'; report: TrafficReport }
  | { type: 'banner'; message: string | null }
  | { type: 'final'; report: TrafficReport; ledger: Ledger }

export interface TrafficStart {
  db: string
  rate: number
}

export async function startTraffic(options: TrafficStart): Promise<TrafficProcess> {
  const args = ['--db', options.db, '--rate', String(options.rate)]
  const child = fork(ENTRY, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const banners: (string | null)[] = []
  child.on('message', (m: Message) => {
    if (m.type === 'banner') banners.push(m.message)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const next = <T extends Message['type']>(type: T) =>
    new Promise<Extract<Message, { type: T }>>((resolve, reject) => {
      const onMessage = (m: Message) => {
        if (m.type !== type) return
        child.off('message', onMessage)
        resolve(m as Extract<Message, { type: T }>)
      }
      child.on('message', onMessage)
      void exited.then(() => reject(new Error(`the app process exited (code ${child.exitCode}) before answering "${type}"`)))
    })
  await next('ready')
  return {
    child,
    banners,
    async report() {
      const answer = next('report')
      child.send({ type: 'report' })
      return (await answer).report
    },
    async deploy(version) {
      const answer = next('deployed')
      child.send({ type: 'deploy', version })
      return (await answer).report
    },
    async stop() {
      const answer = next('final')
      child.send({ type: 'stop' })
      const { report, ledger } = await answer
      await exited
      return { report, ledger }
    },
  }
}
