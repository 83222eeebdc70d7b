import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Knex } from 'knex'
import type { Evolve } from '../api/evolve.ts'
import { type OpenWithKnex, openEvolve } from '../api/open-evolve.ts'
import { ADMIN_ROUTE } from '../api/read-only-response.ts'
import { usage } from '../errors.ts'
import { type ApiToken, checkTokens, requireToken } from './auth.ts'
import { notFoundOrWrongMethod } from './methods.ts'
import { metricsRoute } from './metrics-route.ts'
import { openApiDocument } from './openapi.ts'
import { MAX_PARAM_LENGTH, errorHandler, frameworkErrors } from './problem.ts'
import { checkQuery } from './query.ts'
import { readOnlyRoutes } from './routes-read-only.ts'
import { runRoutes } from './routes-runs.ts'
import { eventRoutes } from './sse.ts'

/** Request bodies above this many bytes get 413: every body of this API is a few fields. */
export const BODY_LIMIT = 16 * 1024

export interface AdminApiPluginOptions {
  evolve: Evolve
  /** Who may call the API; each token's name is the `by` of the changes made with it. */
  tokens: ApiToken[]
  /** How often /events reads the database while a client listens. Default 1000 ms. */
  watchIntervalMs?: number
}

export interface AdminApiOptions extends Omit<AdminApiPluginOptions, 'evolve'> {
  /** The admin object to serve; the caller keeps it and closes it. */
  evolve?: Evolve
  /** Or your knex instance: the API opens an admin object on it (and leaves knex open). */
  knex?: Knex
  /** With `knex`: the migrations (a directory or `Migration[]`), which retry-failures needs. */
  migrations?: OpenWithKnex['migrations']
  /** A pino logger for requests and audit lines (authorization headers are redacted), or false. Default: pino to stdout. */
  logger?: FastifyBaseLogger | boolean
}

/** Never written to a log, whatever a serializer or a caller's log call includes. */
export const REDACT = ['req.headers.authorization', 'request.headers.authorization', 'headers.authorization', 'authorization']

/**
 * The admin API's routes, as a Fastify plugin to register inside your own Fastify server
 * (under a prefix if you like). Errors of these routes are problem+json; every route but
 * `/healthz` needs a bearer token.
 *
 * @example
 * ```ts
 * await app.register(adminApiPlugin, { prefix: '/evolve', evolve, tokens: [{ name: 'deploy', token: process.env.DEPLOY_TOKEN! }] })
 * ```
 */
export async function adminApiPlugin(app: FastifyInstance, opts: AdminApiPluginOptions): Promise<void> {
  const { evolve } = opts
  const auth = requireToken(checkTokens(opts.tokens))
  app.decorateRequest('actor', '')
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= BODY_LIMIT
    // Marked as the admin API's: readOnlyFastify in the same app never refuses these routes.
    route.config = { ...route.config, [ADMIN_ROUTE]: true }
  })
  app.addHook('onRequest', async (request, reply) => {
    if ((request.routeOptions.config as { public?: boolean }).public) return
    return auth(request, reply)
  })
  app.addHook('preValidation', checkQuery)
  // Every body is JSON: a text/plain body (Fastify parses it by default) or one of a parser the
  // host app added gets 415 here, as any other type does, instead of a 400 about its content.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error'),
  )
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundOrWrongMethod(app))

  app.get('/healthz', { config: { public: true } }, async () => ({ ok: true }))
  runRoutes(app, evolve)
  readOnlyRoutes(app, evolve)
  eventRoutes(app, evolve, opts.watchIntervalMs ?? 1000)
  metricsRoute(app, evolve)
  const document = openApiDocument()
  app.get('/openapi.json', async () => document)
}

/**
 * A Fastify server with the admin API, not yet listening: `await app.listen({ port, host })`,
 * or `app.inject()` in tests. Refuses to build without a token.
 *
 * @example
 * ```ts
 * import { openEvolve } from 'evolvekit'
 * import { createAdminApi } from 'evolvekit/http'
 * const evolve = await openEvolve({ db: process.env.DATABASE_URL })
 * const app = await createAdminApi({ evolve, tokens: [{ name: 'deploy', token: process.env.EVOLVE_API_TOKEN! }] })
 * await app.listen({ host: '127.0.0.1', port: 7070 })
 * ```
 */
export async function createAdminApi(options: AdminApiOptions): Promise<FastifyInstance> {
  const tokens = checkTokens(options.tokens ?? [])
  if (!options.evolve && !options.knex) throw usage('E_API_NO_DATABASE', 'createAdminApi needs `evolve` (from openEvolve) or `knex`')
  const evolve = options.evolve ?? (await openEvolve({ knex: options.knex!, migrations: options.migrations }))
  const logger = options.logger ?? true
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    // Any run's name routes (Fastify's default, 100, answers 414 for longer ones), and the router's
    // own refusals (a malformed %-escape, a segment over the limit) are problem+json too.
    // In routerOptions: Fastify 5 warns (FSTDEP022) on every start for a top-level maxParamLength.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    ...(typeof logger === 'boolean' ? { logger: logger && { redact: REDACT } } : { loggerInstance: logger.child({}, { redact: REDACT }) }),
  })
  // An admin object opened here on the caller's knex is ours to close (it leaves knex open).
  if (!options.evolve) app.addHook('onClose', () => evolve.close())
  await app.register(adminApiPlugin, { evolve, tokens, watchIntervalMs: options.watchIntervalMs })
  return app
}
