import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sendProblem } from './problem.ts'

/** One path of the admin API (as registered, prefix included) and the methods it takes. */
interface PathMethods {
  pattern: RegExp
  methods: Set<string>
}

// `/runs/:name/pause` matches `/runs/<any one segment>/pause`, as the router matches it.
function patternOf(url: string): RegExp {
  const parts = url.split(/(:[^/]+|\*)/).map((part) => {
    if (part === '*') return '.*'
    if (part.startsWith(':')) return '[^/]+'
    return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  })
  return new RegExp(`^${parts.join('')}$`)
}

/**
 * The admin API's not-found handler, told apart: a path that exists with another method gets
 * 405 with `Allow` (the client has the method wrong, not the path), any other path 404. It learns
 * the paths from the routes registered in `app` after this call.
 */
export function notFoundOrWrongMethod(app: FastifyInstance): (request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  const paths = new Map<string, PathMethods>()
  app.addHook('onRoute', (route) => {
    const entry = paths.get(route.url) ?? { pattern: patternOf(route.url), methods: new Set<string>() }
    for (const method of [route.method].flat()) entry.methods.add(method)
    paths.set(route.url, entry)
  })
  return (request, reply) => {
    const path = request.url.split('?', 1)[0]!
    const allowed = new Set<string>()
    for (const { pattern, methods } of paths.values()) if (pattern.test(path)) methods.forEach((m) => allowed.add(m))
    if (allowed.size === 0) return sendProblem(reply, 404, 'no such endpoint: see /openapi.json', { code: 'E_NO_SUCH_ENDPOINT' })
    const allow = [...allowed].sort()
    const methods = allow.length > 1 ? `${allow.slice(0, -1).join(', ')} or ${allow.at(-1)}` : allow[0]
    return sendProblem(
      reply.header('allow', allow.join(', ')),
      405,
      `${request.method} is not a method of this path: use ${methods} (see /openapi.json)`,
      { code: 'E_METHOD_NOT_ALLOWED' },
    )
  }
}
