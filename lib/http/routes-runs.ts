import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AfterKeyError, type Evolve } from '../api/evolve.ts'
import { keyShape, keyText } from '../api/key-shape.ts'
import { audit, reasonOf } from './audit.ts'
import { CONFLICTS, badRequest, conflict, notFound } from './problem.ts'
import { ControlBody, EmptyBody, FailuresQuery, RunName, parse } from './schemas.ts'

const ACTIONS = ['pause', 'resume', 'cancel'] as const

/** /status, /runs/:name, its failures, and pause/resume/cancel/retry-failures. */
export function runRoutes(app: FastifyInstance, evolve: Evolve): void {
  const known = async (request: FastifyRequest): Promise<string> => {
    const { name } = parse(RunName, request.params, 'path')
    // The usage errors of the admin layer name the migrations directory: say less here.
    if (!(await evolve.exists(name))) throw notFound(`no migration or run named "${name}": see GET /status for the names`, 'E_NO_SUCH_RUN')
    return name
  }
  // A forbidden transition answers 409 with the state the run is in now.
  const refused = async (name: string, err: unknown): Promise<never> => {
    const code = (err as { code?: string }).code
    // A known migration that has not started: the run exists for GET /runs/:name (pending), so not a 404.
    if (code === 'E_UNKNOWN_RUN') throw conflict(`migration "${name}" has not run yet`, 'pending', code)
    if (code !== undefined && CONFLICTS.has(code)) {
      throw conflict((err as Error).message, (await evolve.progress(name)).state, code)
    }
    throw err
  }

  app.get('/status', async () => evolve.status())

  app.get('/runs/:name', async (request) => evolve.progress(await known(request)))

  app.get('/runs/:name/failures', { config: { query: FailuresQuery } }, async (request) => {
    const name = await known(request)
    const query = parse(FailuresQuery, request.query, 'query')
    const after = query.after === undefined ? undefined : jsonOrString(query.after)
    const page = await evolve.failurePage(name, { limit: query.limit, after }).catch((err) => {
      if (err instanceof AfterKeyError)
        throw badRequest(
          `after ${keyText(err.found)} is not a key of this run: give ${keyShape(err.parts)}, e.g. ${keyText(err.example)}`,
          'after',
          'E_BAD_PARAMETER',
        )
      return refused(name, err)
    })
    return page // { failures, total, next }: next is null on the last page, even a full one
  })

  for (const action of ACTIONS) {
    app.post(`/runs/:name/${action}`, async (request) => {
      const name = await known(request)
      const body = parse(ControlBody, request.body, 'body')
      const reason = reasonOf(request, body.reason, action)
      const from = (await evolve.progress(name)).state
      const state = await evolve[action](name, { by: request.actor, reason }).catch((err) => refused(name, err))
      // A pause of a paused run is answered, and audited, but it changed nothing: say so.
      audit(request, { action, run: name, from, to: state, changed: from !== state, reason })
      return { name, state }
    })
  }

  app.post('/runs/:name/retry-failures', async (request) => {
    const name = await known(request)
    parse(EmptyBody, request.body, 'body')
    const from = (await evolve.progress(name)).state
    const { queued, state } = await evolve.queueRetry(name, { by: request.actor }).catch((err) => refused(name, err))
    audit(request, { action: 'retry-failures', run: name, from, to: state, queued })
    return { name, state, queued }
  })
}

// Keys come back as JSON values (numbers stay numbers); a bare string is a string key.
function jsonOrString(value: string): unknown {
  try {
    return JSON.parse(value)
  } catch {
    return value
  }
}
