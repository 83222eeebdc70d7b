/**
 * The error classes evolvekit throws. Each has a stable `code`; the CLI maps
 * user mistakes (`EvolveUsageError`) to exit code 2 and prints only the message,
 * and a database unavailable for now (`EvolveConnectionError.transient`) to 75.
 */
export class EvolveError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** Bad input from a person: a flag, a config, a migration file. Nothing was changed. */
export class EvolveUsageError extends EvolveError {
  /**
   * When the message names a file or directory: the same mistake said without the path, for
   * someone who is not on this machine (the admin API's clients never see a path).
   */
  pathFreeMessage?: string
}

/** A database could not be reached or is not what the migration expects. */
export class EvolveConnectionError extends EvolveError {
  /**
   * True when the database could not be reached or is unavailable for now (refused, a name that
   * does not resolve, a timeout, too many connections, a server shutting down or starting up):
   * trying again later may work, so the CLI exits 75 (EX_TEMPFAIL), not 2. False when a person
   * must mend something first (a password, a database name, a privilege, a full disk).
   */
  readonly transient: boolean
  constructor(message: string, options?: { cause?: unknown; transient?: boolean; code?: string }) {
    super(options?.code ?? 'E_CONNECTION', message, options)
    this.transient = options?.transient ?? false
  }
}

/** `assertDone` found the migration's data not (yet) evolved. */
export class EvolveNotDoneError extends EvolveError {
  constructor(message: string) {
    super('E_NOT_DONE', message)
  }
}

/** A worker lost its claim on a batch to another worker; the batch transaction was rolled back. */
export class LostClaimError extends EvolveError {
  constructor(batchId: number) {
    super('E_LOST_CLAIM', `batch ${batchId} was taken over by another worker`)
  }
}

/** A usage error; `pathFreeMessage` when `message` names a file or directory (see EvolveUsageError). */
export function usage(code: string, message: string, pathFreeMessage?: string): EvolveUsageError {
  const err = new EvolveUsageError(code, message)
  if (pathFreeMessage !== undefined) err.pathFreeMessage = pathFreeMessage
  return err
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * The allowed name a misspelt one most likely meant, for "did you mean …?": the same in another
 * case, or one or two letters off (one for names of four letters or fewer). Else undefined.
 */
export function nearestName(name: string, allowed: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  const same = allowed.find((a) => a.toLowerCase() === lower)
  if (same) return same
  const limit = lower.length <= 4 ? 1 : 2
  let best: { name: string; distance: number } | undefined
  for (const a of allowed) {
    const distance = editDistance(lower, a.toLowerCase())
    if (distance <= limit && (!best || distance < best.distance)) best = { name: a, distance }
  }
  return best?.name
}

/** `: did you mean "x"?` for the name `name` most likely meant (nearestName, or `meant`), else nothing. */
export function didYouMean(name: string, allowed: readonly string[], meant = nearestName(name, allowed)): string {
  return meant ? `: did you mean "${meant}"?` : ''
}

/** Letters inserted, deleted, changed or swapped with a neighbour (optimal string alignment distance). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

/** A value as an error message shows it: short, strings quoted. */
export function shown(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'object') return 'an object'
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}
