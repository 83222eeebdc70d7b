import type { FastifyRequest } from 'fastify'
import type { z } from 'zod'
import { NoQuery, parse } from './schemas.ts'

/** A route's config: `{ query: Schema }` are the query parameters it takes; a route without takes none. */
export interface QueryConfig {
  query?: z.ZodObject
}

/**
 * A preValidation hook for every route: a query parameter the route does not take is a 400
 * naming it and the ones it takes (`?limt=5` would otherwise be ignored and the default used),
 * and a value it cannot read a 400 naming the parameter. Unknown paths stay 404.
 */
export async function checkQuery(request: FastifyRequest): Promise<void> {
  if (request.is404) return
  const config = request.routeOptions.config as QueryConfig | undefined
  parse(config?.query ?? NoQuery, request.query, 'query')
}
