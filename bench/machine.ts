// What the figures were measured on: they mean little without it.
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import Database from 'better-sqlite3'

export interface MachineInfo {
  date: string
  cpus: number
  cpuModel: string
  memoryGb: number
  /** 1-, 5- and 15-minute load averages when the bench started: anything else running skews it. */
  loadAverage: number[]
  os: string
  node: string
  postgres: { version: string; source: string; settings: Record<string, string> | null }
  sqlite: string
  /** The commit measured, and whether lib/ had uncommitted changes. */
  git: { commit: string; libDirty: boolean } | null
}

function git(): MachineInfo['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const libDirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { encoding: 'utf8' }).trim() !== ''
    return { commit, libDirty }
  } catch {
    return null
  }
}

function sqliteVersion(): string {
  const db = new Database(':memory:')
  try {
    return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v
  } finally {
    db.close()
  }
}

export function machineInfo(postgres: MachineInfo['postgres']): MachineInfo {
  return {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres,
    sqlite: sqliteVersion(),
    git: git(),
  }
}
