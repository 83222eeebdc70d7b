import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyPluginCallback } from 'fastify'
import type { ReadOnlyState } from '../core/read-only.ts'
import { usage } from '../errors.ts'
import { isReadOnlyError } from './read-only-error.ts'
import {
  ADMIN_ROUTE,
  type ReadOnlyMiddlewareOptions as CheckedOptions,
  checkMiddlewareArgs,
  refusal,
  refusedState,
  refuses,
  sendRefusal,
} from './read-only-response.ts'
import type { ReadOnlySwitch } from './read-only-switch.ts'

/**
 * The middleware's options. `Req` is the request `isWrite` receives: Express's `Request` for
 * `readOnlyMiddleware` (inferred inside `app.use(…)`, or `readOnlyMiddleware<Request>(…)`), the
 * handler's for `withReadOnly`, Node's IncomingMessage (`request.raw`) for `readOnlyFastify`.
 */
export interface ReadOnlyMiddlewareOptions<Req = IncomingMessage> extends Omit<CheckedOptions, 'isWrite'> {
  /** Which requests write; default POST, PUT, PATCH and DELETE. */
  isWrite?: (req: Req) => boolean
}

/** The options checked, for the shared code that calls `isWrite` with the very request it was given. */
const checked = <Req>(fn: string, sw: unknown, opts: ReadOnlyMiddlewareOptions<Req>) =>
  checkMiddlewareArgs(fn, sw, opts as unknown as CheckedOptions)

// Structural types: evolvekit never loads a web framework, it only speaks their shapes.
type Next = (err?: unknown) => void
type ExpressResponse = ServerResponse & { locals?: Record<string, unknown>; headersSent: boolean }

/**
 * Express (or Connect) middleware: write requests get 503 while read-only is on; every
 * request gets the switch's state on `res.locals.readOnly` for a banner.
 *
 * @example
 * ```ts
 * app.use(readOnlyMiddleware(readOnly))
 * app.get('/', (req, res) => res.render('home', { banner: res.locals.readOnly }))
 * app.use(readOnlyErrorHandler(readOnly)) // after the routes
 * ```
 */
export function readOnlyMiddleware<Req extends IncomingMessage = IncomingMessage>(
  sw: ReadOnlySwitch,
  options: ReadOnlyMiddlewareOptions<Req> = {},
) {
  const opts = checked('readOnlyMiddleware', sw, options)
  return (req: Req, res: ExpressResponse, next: Next): void => {
    if (res.locals) res.locals.readOnly = sw.state
    if (refuses(sw, req, opts)) return void sendRefusal(sw, req, res, opts).catch(next)
    next()
  }
}

/** Express error handler: the database's read-only refusal in the middle of a request becomes the same 503. */
export function readOnlyErrorHandler<Req extends IncomingMessage = IncomingMessage>(
  sw: ReadOnlySwitch,
  options: ReadOnlyMiddlewareOptions<Req> = {},
) {
  const opts = checked('readOnlyErrorHandler', sw, options)
  return (err: unknown, req: Req, res: ExpressResponse, next: Next): void => {
    if (!isReadOnlyError(err) || res.headersSent) return next(err)
    sendRefusal(sw, req, res, opts, err).catch(next)
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The read-only switch's state, for a banner (set by `readOnlyFastify`). */
    readOnly: ReadOnlyState | null
  }
}

/**
 * Fastify plugin: refuses write requests with 503 while read-only is on, decorates every
 * request with `request.readOnly`, and turns the database's refusal in a handler into
 * the same 503. Applies to the whole app (not encapsulated), except the routes of the embedded
 * admin API (`adminApiPlugin`), so operators can always turn read-only off.
 *
 * @example
 * ```ts
 * await app.register(readOnlyFastify(readOnly))
 * ```
 */
export function readOnlyFastify(sw: ReadOnlySwitch, opts: ReadOnlyMiddlewareOptions = {}): FastifyPluginCallback {
  opts = checkMiddlewareArgs('readOnlyFastify', sw, opts)
  const plugin: FastifyPluginCallback = (fastify, _options, done) => {
    fastify.decorateRequest('readOnly', null)
    fastify.addHook('onRequest', (request, reply, hookDone) => {
      request.readOnly = sw.state
      // The admin API's own routes (adminApiPlugin marks them): refusing them would lock operators out.
      if ((request.routeOptions.config as unknown as Record<string, unknown> | undefined)?.[ADMIN_ROUTE]) return hookDone()
      // No route: nothing to write, and its 404 (the admin API's "no such endpoint" too) says more than a 503.
      if (request.is404) return hookDone()
      if (!refuses(sw, request.raw, opts)) return hookDone()
      const answer = refusal(sw.state, request.raw, opts)
      void reply.code(answer.status).header('Retry-After', answer.retryAfter).type(answer.type).send(answer.body)
    })
    const previous = fastify.errorHandler
    fastify.setErrorHandler(async function (error, request, reply) {
      if (!isReadOnlyError(error)) return previous.call(this, error, request, reply)
      const answer = refusal(await refusedState(sw, error), request.raw, opts)
      return reply.code(answer.status).header('Retry-After', answer.retryAfter).type(answer.type).send(answer.body)
    })
    done()
  }
  // Fastify's skip-override: the hooks reach every route, not only those registered inside.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true })
  return plugin
}

/**
 * Wraps a plain `node:http` handler: write requests get 503 while read-only is on, the
 * state is on `req.readOnly`, and a read-only refusal thrown (or rejected) by the handler
 * becomes the same 503.
 *
 * @example
 * ```ts
 * http.createServer(withReadOnly(readOnly, async (req, res) => { … })).listen(3000)
 * ```
 */
export function withReadOnly<Req extends IncomingMessage, Res extends ServerResponse>(
  sw: ReadOnlySwitch,
  handler: (req: Req & { readOnly: ReadOnlyState }, res: Res) => unknown,
  options: ReadOnlyMiddlewareOptions<Req> = {},
) {
  const opts = checked('withReadOnly', sw, options)
  if (typeof handler !== 'function') throw usage('E_CONFIG', 'withReadOnly(sw, handler): the handler must be a function (req, res) => …')
  return async (req: Req, res: Res): Promise<void> => {
    const request = Object.assign(req, { readOnly: sw.state })
    if (refuses(sw, req, opts)) return sendRefusal(sw, req, res, opts)
    try {
      await handler(request, res)
    } catch (err) {
      if (!isReadOnlyError(err) || res.headersSent) throw err
      await sendRefusal(sw, req, res, opts, err)
    }
  }
}
