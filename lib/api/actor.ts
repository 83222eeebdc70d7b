import { hostname, userInfo } from 'node:os'

/** Who acts, for the runs' history when no one says otherwise: `user@host`. */
export function defaultActor(): string {
  let user = process.env.USER ?? process.env.USERNAME ?? 'unknown'
  try {
    user = userInfo().username
  } catch {
    // No passwd entry (some containers): the environment's answer stands.
  }
  return `${user}@${hostname()}`
}
