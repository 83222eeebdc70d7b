import type { Evolve } from '../api/evolve.ts'

/** What the admin API shows of the read-only switch (see contracts: `evolve.readOnly`). */
export interface ReadOnlyState {
  readOnly: boolean
  message: string | null
  tables: string[] | null
  since: string | null
  by: string | null
  expiresAt: string | null
}

/** The part of `evolve.readOnly` the API uses. */
export interface ReadOnlyAdmin {
  status(): Promise<ReadOnlyState>
  enable(opts: { message?: string; tables?: string[]; for?: string | number; by?: string }): Promise<ReadOnlyState>
  disable(opts?: { by?: string }): Promise<ReadOnlyState>
}

/**
 * The read-only switch of `evolve`, or undefined where this build has none: the routes answer
 * 501 then. Reached through this one function so the API needs no change once it is there.
 */
export function readOnlyOf(evolve: Evolve): ReadOnlyAdmin | undefined {
  const admin = (evolve as unknown as { readOnly?: ReadOnlyAdmin }).readOnly
  return admin && typeof admin.status === 'function' ? admin : undefined
}
