import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ReadOnlyState } from '../core/read-only.ts'
import { DEFAULT_READ_ONLY_MESSAGE } from '../core/read-only.ts'
import { shown, usage } from '../errors.ts'
import { checkOptions, isAdminObject, isKnex } from './check-options.ts'
import type { ReadOnlySwitch } from './read-only-switch.ts'
import { readOnlyMessageOf } from './read-only-error.ts'

/**
 * The Fastify route config key the admin API (adminApiPlugin) sets on its routes: readOnlyFastify
 * never refuses them, so operators can turn read-only off in an app that embeds the admin API.
 */
export const ADMIN_ROUTE = 'evolvekitAdmin'

export interface ReadOnlyMiddlewareOptions {
  /** Which requests write; default POST, PUT, PATCH and DELETE. */
  isWrite?: (req: IncomingMessage) => boolean
  /** Refuse writes only while this table is read-only; default: while anything is. */
  table?: string
  /** Retry-After when the switch has no expiry. Default 60 s. */
  retryAfterSeconds?: number
}

/** What each option takes, for the error naming a wrong one. */
const MIDDLEWARE_OPTIONS: Record<keyof ReadOnlyMiddlewareOptions, { takes: string; ok: (v: unknown) => boolean }> = {
  table: { takes: "a table name, e.g. 'orders'", ok: (v) => typeof v === 'string' && v.length > 0 },
  isWrite: { takes: "a function (req) => boolean, e.g. (req) => req.method !== 'GET'", ok: (v) => typeof v === 'function' },
  retryAfterSeconds: { takes: 'a whole number of seconds, at least 1, e.g. 120', ok: (v) => Number.isSafeInteger(v) && (v as number) >= 1 },
}

/**
 * The middleware's arguments, checked when it is created: the switch (not a knex instance or the
 * admin object) and its options.
 */
export function checkMiddlewareArgs(fn: string, sw: unknown, opts: unknown): ReadOnlyMiddlewareOptions {
  const isSwitch =
    sw !== null && typeof sw === 'object' && typeof (sw as { isReadOnly?: unknown }).isReadOnly === 'function' && 'state' in sw
  if (!isSwitch) {
    const found = isKnex(sw) ? 'a knex instance' : isAdminObject(sw) ? 'the admin object from openEvolve' : shown(sw)
    throw usage('E_CONFIG', `${fn} needs the switch: ${fn}(createReadOnlySwitch(knex)), awaiting its ready before serving (found ${found})`)
  }
  return checkOptions<ReadOnlyMiddlewareOptions>(fn, opts, MIDDLEWARE_OPTIONS)
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** True when this request must be answered 503 before it reaches the app. */
export function refuses(sw: ReadOnlySwitch, req: IncomingMessage, opts: ReadOnlyMiddlewareOptions): boolean {
  const write = opts.isWrite ? opts.isWrite(req) : WRITES.has(req.method ?? 'GET')
  return write && sw.isReadOnly(opts.table)
}

/** The 503 every framework sends: status, Retry-After, content type and body. */
export function refusal(state: ReadOnlyState, req: IncomingMessage, opts: ReadOnlyMiddlewareOptions) {
  const message = state.message ?? DEFAULT_READ_ONLY_MESSAGE
  const untilExpiry = state.expiresAt ? Math.ceil((Date.parse(state.expiresAt) - Date.now()) / 1000) : NaN
  const retryAfter = String(Number.isFinite(untilExpiry) && untilExpiry > 0 ? untilExpiry : (opts.retryAfterSeconds ?? 60))
  const accept = String(req.headers.accept ?? '')
  if (/text\/html/.test(accept) && !/application\/(problem\+)?json/.test(accept)) {
    return { status: 503, retryAfter, type: 'text/html; charset=utf-8', body: page(message) }
  }
  // RFC 9457 problem details.
  const problem = {
    type: 'urn:evolvekit:read-only',
    title: 'Read-only mode',
    status: 503,
    detail: message,
    since: state.since,
    expiresAt: state.expiresAt,
  }
  return { status: 503, retryAfter, type: 'application/problem+json', body: JSON.stringify(problem) }
}

/**
 * The state a 503 tells. For the database's refusal of a write (`err`) that came before the
 * switch saw read-only go on (it polls), the switch looks now, so the answer has the switch's
 * since and expiry too; if it cannot look (or sees off: turned off meanwhile), the message the
 * refusal carries.
 */
export async function refusedState(sw: ReadOnlySwitch, err?: unknown): Promise<ReadOnlyState> {
  if (err === undefined || sw.state.readOnly) return sw.state
  await sw.refresh().catch(() => {}) // the app's own error is answered either way
  if (sw.state.readOnly) return sw.state
  return { ...sw.state, readOnly: true, message: readOnlyMessageOf(err) ?? sw.state.message }
}

/** Sends the 503 on a plain node response (Express's `res` is one too); `err`: the database's refusal, if it was one. */
export async function sendRefusal(
  sw: ReadOnlySwitch,
  req: IncomingMessage,
  res: ServerResponse,
  opts: ReadOnlyMiddlewareOptions,
  err?: unknown,
): Promise<void> {
  const answer = refusal(await refusedState(sw, err), req, opts)
  if (res.headersSent) return // the handler answered while the switch looked
  res.statusCode = answer.status
  res.setHeader('Retry-After', answer.retryAfter)
  res.setHeader('Content-Type', answer.type)
  res.end(answer.body)
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Read-only mode</title></head>
<body><h1>Read-only mode</h1><p>${escapeHtml(message)}</p><p>You can keep reading; please try your change again later.</p></body></html>
`
}
