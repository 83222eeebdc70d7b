import { z } from 'zod'
import * as S from './schemas.ts'

type Op = {
  summary: string
  auth?: false
  params?: boolean
  query?: z.ZodObject
  body?: z.ZodType
  ok: z.ZodType | 'text' | 'sse'
  errors: number[]
}

// Each schema sits inside the document: its own $schema line would only repeat the dialect.
const json = (schema: z.ZodType) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })
  return rest
}

const OPERATIONS: Record<string, Record<string, Op>> = {
  '/healthz': {
    get: {
      summary: 'liveness: 200 while the server runs (no auth, no details)',
      auth: false,
      ok: z.object({ ok: z.literal(true) }),
      errors: [],
    },
  },
  '/status': { get: { summary: 'every migration and its run, as `evolve status --json`', ok: S.StatusResponse, errors: [401] } },
  '/runs/{name}': { get: { summary: 'one run', params: true, ok: S.RunProgress, errors: [401, 404] } },
  '/runs/{name}/failures': {
    get: {
      summary: 'one page of failed objects, in key order',
      params: true,
      query: S.FailuresQuery,
      ok: S.FailuresResponse,
      errors: [400, 401, 404, 409],
    },
  },
  '/runs/{name}/pause': {
    post: {
      summary: 'pause the run on every machine',
      params: true,
      body: S.ControlBody,
      ok: S.ControlResponse,
      errors: [400, 401, 404, 409, 413],
    },
  },
  '/runs/{name}/resume': {
    post: {
      summary: 'let a paused or cancelled run go on',
      params: true,
      body: S.ControlBody,
      ok: S.ControlResponse,
      errors: [400, 401, 404, 409, 413],
    },
  },
  '/runs/{name}/cancel': {
    post: {
      summary: 'stop the run; it stays resumable',
      params: true,
      body: S.ControlBody,
      ok: S.ControlResponse,
      errors: [400, 401, 404, 409, 413],
    },
  },
  '/runs/{name}/retry-failures': {
    post: {
      summary: 'queue the failed objects for the runners (this server runs no batches)',
      params: true,
      body: S.EmptyBody,
      ok: S.RetryResponse,
      errors: [400, 401, 404, 409, 413],
    },
  },
  '/read-only': {
    get: { summary: 'the read-only switch', ok: S.ReadOnlyState, errors: [401, 501] },
    put: { summary: 'switch read-only on or off', body: S.ReadOnlyBody, ok: S.ReadOnlyState, errors: [400, 401, 409, 413, 501] },
  },
  '/events': { get: { summary: 'Server-Sent Events: run-state, progress (≤ 1/s per run), read-only', ok: 'sse', errors: [401] } },
  '/metrics': { get: { summary: 'Prometheus text', ok: 'text', errors: [401] } },
  '/openapi.json': { get: { summary: 'this document', ok: z.object({}).loose(), errors: [401] } },
}

function operation(op: Op) {
  const parameters: unknown[] = []
  if (op.params) parameters.push({ name: 'name', in: 'path', required: true, schema: { type: 'string' } })
  for (const [name, schema] of Object.entries(op.query?.shape ?? {})) {
    parameters.push({ name, in: 'query', required: !(schema as z.ZodType).safeParse(undefined).success, schema: json(schema as z.ZodType) })
  }
  const ok =
    op.ok === 'text'
      ? { 'text/plain': { schema: { type: 'string' } } }
      : op.ok === 'sse'
        ? { 'text/event-stream': { schema: { type: 'string' } } }
        : { 'application/json': { schema: json(op.ok) } }
  const responses: Record<string, unknown> = { 200: { description: 'OK', content: ok } }
  // Every route refuses a query parameter it does not take (400), and every body not sent as JSON (415).
  const errors = new Set([...op.errors, 400, ...(op.body ? [415] : [])])
  for (const status of [...errors].sort())
    responses[status] = {
      description: 'problem',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    }
  return {
    summary: op.summary,
    ...(op.auth === false ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: false, content: { 'application/json': { schema: json(op.body) } } } } : {}),
    responses,
  }
}

/** The OpenAPI 3.1 document of the admin API, generated from the schemas the routes validate with. */
export function openApiDocument(): Record<string, unknown> {
  const paths = Object.fromEntries(
    Object.entries(OPERATIONS).map(([path, ops]) => [path, Object.fromEntries(Object.entries(ops).map(([m, op]) => [m, operation(op)]))]),
  )
  return {
    openapi: '3.1.0',
    info: { title: 'evolvekit admin API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: { Problem: json(S.Problem) } },
    security: [{ bearer: [] }],
    paths,
  }
}
