import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { usage } from '../errors.ts'
import { sendProblem } from './problem.ts'

/** One bearer token and the name it acts as: the `by` of every change made with it. */
export interface ApiToken {
  name: string
  token: string
}

const MIN_TOKEN_LENGTH = 16
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/

/**
 * Reads a token file: one `name:token` a line; blank lines and `#` comments are skipped.
 * Errors name the line, never the token.
 */
export function parseTokenFile(text: string, source = 'the token file'): ApiToken[] {
  const tokens: ApiToken[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const colon = line.indexOf(':')
    if (colon < 0) throw usage('E_API_TOKEN', `${source}, line ${i + 1}: expected name:token`)
    tokens.push({ name: line.slice(0, colon).trim(), token: line.slice(colon + 1).trim() })
  })
  return checkTokens(tokens, source)
}

/** The token of `EVOLVE_API_TOKEN`, acting as `api`, or none. */
export function tokensFromEnv(env: Record<string, string | undefined>): ApiToken[] {
  const token = env.EVOLVE_API_TOKEN?.trim()
  return token ? checkTokens([{ name: 'api', token }], 'EVOLVE_API_TOKEN') : []
}

/**
 * Refuses an empty list, bad names, duplicate names, short tokens (a guessable token is no lock)
 * and one token for two names (it would act as whichever name came last).
 */
export function checkTokens(tokens: ApiToken[], source = 'tokens'): ApiToken[] {
  if (tokens.length === 0) {
    throw usage('E_API_NO_TOKEN', `the admin API needs at least one token: set EVOLVE_API_TOKEN or pass --token-file (lines of name:token)`)
  }
  const names = new Set<string>()
  const owners = new Map<string, string>()
  for (const { name, token } of tokens) {
    if (!NAME.test(name)) throw usage('E_API_TOKEN', `${source}: token name "${name}" must be 1-64 letters, digits, _ . @ -`)
    if (names.has(name)) throw usage('E_API_TOKEN', `${source}: token name "${name}" appears twice`)
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw usage(
        'E_API_TOKEN',
        `${source}: the token of "${name}" must be at least ${MIN_TOKEN_LENGTH} characters without spaces (try \`openssl rand -hex 32\`)`,
      )
    }
    const owner = owners.get(token)
    if (owner !== undefined) {
      throw usage(
        'E_API_TOKEN',
        `${source}: "${owner}" and "${name}" have the same token: give each name its own (\`openssl rand -hex 32\`)`,
      )
    }
    names.add(name)
    owners.set(token, name)
  }
  return tokens
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * Finds whose token a request carries. Digests have equal length, so timingSafeEqual applies
 * whatever the token's length, and every token is compared: timing tells nothing about which
 * (or how much of one) matched.
 */
export function tokenVerifier(tokens: ApiToken[]): (authorization: string | undefined) => string | null {
  const known = checkTokens(tokens).map((t) => ({ name: t.name, digest: digest(t.token) }))
  return (authorization) => {
    const match = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')
    const presented = digest(match?.[1] ?? '')
    let found: string | null = null
    for (const t of known) if (timingSafeEqual(t.digest, presented) && match) found = t.name
    return found
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the token the request was made with: the `by` of its changes. */
    actor: string
  }
}

/** A preHandler hook: 401 with `WWW-Authenticate: Bearer` and no detail unless a known token is presented. */
export function requireToken(tokens: ApiToken[]) {
  const verify = tokenVerifier(tokens)
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const name = verify(request.headers.authorization)
    if (name === null) return sendProblem(reply.header('www-authenticate', 'Bearer'), 401)
    request.actor = name
  }
}
