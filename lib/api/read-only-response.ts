import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ReadOnlyState } from '../core/read-only.ts'
import { DEFAULT_READ_ONLY_MESSAGE } from '../core/read-only.ts'
import type { ReadOnlySwitch } from './read-only-switch.ts'

export interface ReadOnlyMiddlewareOptions {
  /** Which requests write; default POST, PUT, PATCH and DELETE. */
  isWrite?: (req: IncomingMessage) => boolean
  /** Refuse writes only while this table is read-only; default: while anything is. */
  table?: string
  /** Retry-After when the switch has no expiry. Default 60 s. */
  retryAfterSeconds?: number
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

/** Sends the 503 on a plain node response (Express's `res` is one too). */
export function sendRefusal(sw: ReadOnlySwitch, req: IncomingMessage, res: ServerResponse, opts: ReadOnlyMiddlewareOptions): void {
  const answer = refusal(sw.state, req, opts)
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
