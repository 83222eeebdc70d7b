import type { FastifyInstance } from 'fastify'
import type { Evolve } from '../api/evolve.ts'
import { audit } from './audit.ts'
import { badRequest } from './problem.ts'
import { ReadOnlyBody, parse } from './schemas.ts'

/** GET and PUT /read-only: the read-only switch, as `evolve read-only` sees it. */
export function readOnlyRoutes(app: FastifyInstance, evolve: Evolve): void {
  const admin = () => evolve.readOnly

  app.get('/read-only', async () => admin().status())

  app.put('/read-only', async (request) => {
    const ro = admin()
    const body = parse(ReadOnlyBody, request.body, 'body', { forSeconds: 'E_READ_ONLY_BAD_FOR' })
    const from = await ro.status()
    if (!body.readOnly) {
      const extra = (['message', 'tables', 'forSeconds'] as const).find((f) => body[f] !== undefined)
      if (extra) throw badRequest(`${extra}: only with readOnly: true`, extra, 'E_BAD_FIELD')
      const state = await ro.disable({ by: request.actor, force: body.force })
      audit(request, { action: 'read-only off', from, to: state, force: body.force ?? false })
      return state
    }
    if (body.force !== undefined) throw badRequest('force: only with readOnly: false', 'force', 'E_BAD_FIELD')
    const state = await ro.enable({
      message: body.message,
      tables: body.tables,
      for: body.forSeconds === undefined ? undefined : `${body.forSeconds}s`,
      by: request.actor,
    })
    // The switch's whole state before and after, as GET /read-only gives it: the message, tables
    // and expiry set are in `to`, and what was replaced (an earlier message, by whom) in `from`.
    audit(request, { action: 'read-only on', from, to: state, forSeconds: body.forSeconds ?? null })
    return state
  })
}
