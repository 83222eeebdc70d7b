import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { EvolveConnectionError, EvolveUsageError } from '../errors.ts'

/** An RFC 9457 problem: the only shape an error of the admin API takes. */
export interface Problem {
  type: string
  title: string
  status: number
  detail?: string
  /** Extension members, e.g. `state` of a 409 or `field` of a 400. */
  [extension: string]: unknown
}

/** A problem a route throws on purpose; its detail is written for the client and safe to show. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? title)
  }
}

export const badRequest = (detail: string, field?: string, code?: string) =>
  new HttpProblem(400, 'Bad Request', detail, { ...(field ? { field } : {}), ...(code ? { code } : {}) })
export const notFound = (detail: string, code: string) => new HttpProblem(404, 'Not Found', detail, { code })
export const conflict = (detail: string, state?: string, code?: string) =>
  new HttpProblem(409, 'Conflict', detail, { ...(state ? { state } : {}), ...(code ? { code } : {}) })

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  501: 'Not Implemented',
  503: 'Service Unavailable',
}

/**
 * The `code` of a 4xx sent without one: every client error carries one, so a client can branch
 * on it without parsing the detail (docs/admin-api.md lists them all). Any other 4xx (one
 * Fastify makes itself) is E_BAD_REQUEST.
 */
const STATUS_CODES: Record<number, string> = {
  401: 'E_UNAUTHORIZED',
  405: 'E_METHOD_NOT_ALLOWED',
  413: 'E_BODY_TOO_LARGE',
  414: 'E_PATH_TOO_LONG',
  415: 'E_NOT_JSON',
}

export function sendProblem(reply: FastifyReply, status: number, detail?: string, extensions: Record<string, unknown> = {}): FastifyReply {
  const code = extensions.code ?? STATUS_CODES[status] ?? (status < 500 ? 'E_BAD_REQUEST' : undefined)
  const body: Problem = { type: 'about:blank', title: TITLES[status] ?? 'Internal Server Error', status, ...extensions }
  if (code !== undefined) body.code = code
  if (detail !== undefined) body.detail = detail
  return reply.code(status).type('application/problem+json').send(body)
}

/** Usage errors whose message is about state, not input: the run exists but cannot do that now (409). */
export const CONFLICTS: ReadonlySet<string> = new Set([
  'E_BAD_STATE',
  'E_RUN_STOPPED',
  'E_RUN_CHANGED',
  'E_NOTHING_TO_RETRY',
  'E_READ_ONLY_HELD',
  'E_RETRY_QUEUED',
])

/**
 * Turns anything thrown into a problem. Only messages written for users (HttpProblem, usage
 * errors said without file paths, Fastify's own client errors) reach the client; anything else
 * is logged here and answered with a bare 500, so no stack trace, SQL or file path ever leaves
 * the server.
 */
export function errorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof HttpProblem) return sendProblem(reply, err.status, err.detail, err.extensions)
  if (err instanceof EvolveUsageError) {
    // A message about the server's own files (its migrations directory, a file that does not
    // load) names them: the client is told the mistake without the path, the log has it all.
    const detail = err.pathFreeMessage ?? err.message
    if (err.pathFreeMessage !== undefined) request.log.warn({ code: err.code }, err.message)
    if (CONFLICTS.has(err.code)) return sendProblem(reply, 409, detail, { code: err.code })
    return sendProblem(reply, 400, detail, { code: err.code })
  }
  if (err instanceof EvolveConnectionError) {
    request.log.error({ err }, 'database unavailable')
    return sendProblem(reply, 503, 'the database is unavailable; try again')
  }
  const fe = err as FastifyError
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendProblem(reply, 413, 'the request body is larger than the limit')
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendProblem(reply, 415, 'send the body as application/json')
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return sendProblem(reply, 400, 'the body is empty but says it is JSON: send {} or no body', { code: 'E_BAD_BODY' })
  if (fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
    return sendProblem(reply, 400, 'the Content-Length does not match the body', { code: 'E_BAD_BODY' })
  if (err instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY')
    return sendProblem(reply, 400, 'the body is not valid JSON', { code: 'E_BAD_JSON' })
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return sendProblem(reply, fe.statusCode)
  request.log.error({ err }, 'unexpected error')
  return sendProblem(reply, 500, 'an unexpected error; the server log has the details')
}

/**
 * The longest path parameter (a migration name, percent-decoded) the admin API's server routes:
 * Fastify's default of 100 would answer 414 for a longer migration name. A run's name is stored
 * in a 255-character column, so every name a run can have fits.
 */
export const MAX_PARAM_LENGTH = 1000

/**
 * Fastify's `frameworkErrors` server option: the errors its router answers before any route or
 * hook (a malformed %-escape in the path, a path segment over `maxParamLength`) as problem+json
 * too, instead of Fastify's own JSON. Set it with `maxParamLength` when you build the server:
 * `Fastify({ routerOptions: { maxParamLength: MAX_PARAM_LENGTH }, frameworkErrors })`.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err.code === 'FST_ERR_BAD_URL') {
    return sendProblem(reply, 400, 'the path has a malformed %-escape: encode the migration name with encodeURIComponent', {
      code: 'E_BAD_PATH',
    })
  }
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    // Set in routerOptions, initialConfig.maxParamLength still says Fastify's default.
    const config = request.server.initialConfig
    const max = config.routerOptions?.maxParamLength ?? config.maxParamLength ?? 100
    return sendProblem(
      reply,
      414,
      `a part of the path is longer than ${max} characters (the server's maxParamLength): a migration name that long needs a larger maxParamLength`,
    )
  }
  return errorHandler(err, request, reply)
}
