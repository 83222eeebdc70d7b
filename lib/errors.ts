/**
 * The error classes evolvekit throws. Each has a stable `code`; the CLI maps
 * user mistakes (`EvolveUsageError`) to exit code 2 and prints only the message.
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
export class EvolveUsageError extends EvolveError {}

/** A database could not be reached or is not what the migration expects. */
export class EvolveConnectionError extends EvolveError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CONNECTION', message, options)
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

export function usage(code: string, message: string): EvolveUsageError {
  return new EvolveUsageError(code, message)
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
