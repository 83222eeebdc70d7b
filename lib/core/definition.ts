import { type EvolveMode, type Migration } from './migration.ts'
import { sourceHash } from './source-hash.ts'

/**
 * What a migration's run was opened with, stored on the run (evolve_runs.definition): the table,
 * key and mode a resumed run must still have, and a hash of the file's code (sourceHash: comments
 * and whitespace left out). A run is identified by its name; this tells whether the file of that
 * name still defines the same change.
 */
export interface Definition {
  table: string
  key: string[]
  /** How a batch evolves its rows. */
  mode: EvolveMode
  /** The file's `mode`: evolved in place, in place with the table read-only, or on a snapshot. */
  kind: 'online' | 'readonly' | 'snapshot'
  hash: string
}

export function definitionOf(m: Migration): Definition {
  return {
    table: m.table,
    key: Array.isArray(m.key) ? [...m.key] : [m.key],
    mode: m.mode,
    kind: m.snapshot ? 'snapshot' : m.readOnly ? 'readonly' : 'online',
    hash: m.sourceHash ?? codeHash(m),
  }
}

/**
 * A migration built in code (createMigration) has no file: its functions' source and the
 * options that say which rows and columns are evolved stand for it. A constant or helper they
 * use from outside is not seen.
 */
function codeHash(m: Migration): string {
  const source = (f: unknown) => (typeof f === 'function' ? f.toString() : null)
  const set = m.set ? Object.fromEntries(Object.entries(m.set).map(([column, f]) => [column, source(f)])) : null
  return sourceHash(
    JSON.stringify({ pending: source(m.pending), transform: source(m.transform), set, up: source(m.up), columns: m.columns ?? null }),
  )
}

export function encodeDefinition(d: Definition): string {
  return JSON.stringify(d)
}

/** The stored definition, or null: a run opened by a version that stored none (or a row it cannot read) is unknown. */
export function decodeDefinition(text: string | null): Definition | null {
  if (text === null) return null
  try {
    const d = JSON.parse(text) as Partial<Definition>
    const ok = typeof d.table === 'string' && Array.isArray(d.key) && typeof d.mode === 'string' && typeof d.hash === 'string'
    return ok ? ({ kind: 'online', ...d } as Definition) : null
  } catch {
    return null
  }
}

/** How the file now differs from what its run started with. */
export interface DefinitionChange {
  /** `table users → accounts`, `key id → tenant_id, id`, `mode set → transform`: a resumed run would be wrong. */
  structural: string[]
  /** The code changed (pending, transform, set, up, or anything else in the file). */
  code: boolean
}

/** null when nothing changed, or nothing is known of the run's start. */
export function changeOf(stored: Definition | null, now: Definition): DefinitionChange | null {
  if (!stored) return null
  const structural: string[] = []
  if (stored.table !== now.table) structural.push(`table ${stored.table} → ${now.table}`)
  if (stored.key.join(', ') !== now.key.join(', ')) structural.push(`key ${stored.key.join(', ')} → ${now.key.join(', ')}`)
  if (modeText(stored) !== modeText(now)) structural.push(`mode ${modeText(stored)} → ${modeText(now)}`)
  const code = stored.hash !== now.hash
  return structural.length > 0 || code ? { structural, code } : null
}

/** `set`, `transform (readonly)`, `up (snapshot)`. */
function modeText(d: Definition): string {
  return d.kind === 'online' ? d.mode : `${d.mode} (${d.kind})`
}

/** What changed, as status and plan say it: the structural changes, else `its code`. */
export function changeText(change: DefinitionChange): string {
  return change.structural.length > 0 ? change.structural.join(', ') : 'its code'
}

/** Whether a pending migration and a run defined the same change: same table and code (a renamed file). */
export function sameChange(stored: Definition | null, now: Definition): boolean {
  return stored !== null && stored.table === now.table && stored.hash === now.hash
}
