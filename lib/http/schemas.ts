import { z } from 'zod'
import { MAX_DURATION_MS } from '../api/read-only.ts'
import { didYouMean } from '../errors.ts'
import { badRequest } from './problem.ts'

// One zod schema per input and output: routes validate with them and /openapi.json is generated
// from them, so the document cannot drift from what the server accepts.

// The tracking tables' width: `evolve create` names reach 215 characters (stamp, _, 200), a snapshot copy's run 7 more.
export const RunName = z.object({ name: z.string().min(1).max(255) }).strict()

export const ControlBody = z
  .object({ reason: z.string().max(500).optional().describe('why, stored with the run and shown by `status`') })
  .strict()

/** The query of every route that declares none: any parameter is refused, not ignored. */
export const NoQuery = z.object({}).strict()

/** retry-failures takes no fields: the run records `retry N failed objects` as the reason. */
export const EmptyBody = z.object({}).strict()

export const FailuresQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    after: z.string().max(1000).optional().describe('the last key of the previous page (JSON for a number, else the string)'),
  })
  .strict()

/** The longest read-only period, as the CLI's `--for` (30d) and the library's `for` take it. */
export const MAX_FOR_SECONDS = MAX_DURATION_MS / 1000
const FOR_SECONDS = { message: `must be a whole number of seconds from 1 to ${MAX_FOR_SECONDS} (30 days)` }

export const ReadOnlyBody = z
  .object({
    readOnly: z.boolean(),
    // Its length is checked where the CLI's and the library's is: one code (E_READ_ONLY_MESSAGE_TOO_LONG), one wording.
    message: z.string().optional().describe('shown to the app’s users, e.g. as a banner; at most 500 characters'),
    tables: z.array(z.string().min(1).max(200)).max(1000).optional().describe('only these tables; default every user table'),
    forSeconds: z
      .number(FOR_SECONDS)
      .int(FOR_SECONDS)
      .min(1, FOR_SECONDS)
      .max(MAX_FOR_SECONDS, FOR_SECONDS)
      .optional()
      .describe('switch off by itself after this long, at most 30 days'),
    force: z
      .boolean()
      .optional()
      .describe(
        'with readOnly: false, also a snapshot run’s switch (that run then refuses to swap its copy in, fails, and starts over when run again)',
      ),
  })
  .strict()

export const ReadOnlyState = z.object({
  readOnly: z.boolean(),
  message: z.string().nullable(),
  tables: z.array(z.string()).nullable(),
  since: z.string().nullable(),
  by: z.string().nullable(),
  expiresAt: z.string().nullable(),
})

const RunStateEnum = z.enum(['pending', 'running', 'paused', 'done', 'failed', 'cancelled'])

export const RunProgress = z.object({
  name: z.string(),
  state: RunStateEnum,
  stateText: z.string(),
  done: z.number(),
  failed: z.number(),
  remaining: z.number().nullable(),
  total: z.number().nullable(),
  phase: z.string(),
  sweepPass: z.number(),
  batches: z.number(),
  batchSize: z.number().nullable(),
  retries: z.number(),
  throttled: z.string().nullable(),
  workers: z.number(),
  rowsPerSecond: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  lastError: z.string().nullable(),
  changedBy: z.string().nullable(),
  changeReason: z.string().nullable(),
  noFile: z.boolean().describe("the database has this run, the server's migrations directory no file of its name"),
  fileChanged: z.string().nullable().describe('how the file differs from what its run started with (table, key, mode, or its code)'),
  codeChangedAt: z.string().nullable().describe('when the run last went on with changed code'),
  renamedFrom: z.string().nullable().describe('a started run with no file whose table and code this pending migration has'),
  fileError: z
    .string()
    .nullable()
    .describe("why the run's file did not load (it throws, or its import did not settle in 5 s); the other runs are answered"),
})

export const StatusResponse = z.array(RunProgress)

export const FailedObject = z.object({
  key: z.unknown(),
  error: z.string(),
  attempts: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
})
export const FailuresResponse = z.object({
  failures: z.array(FailedObject),
  total: z.number().int().describe("the run's failed objects, every page together"),
  next: z.unknown().describe('pass as `after` for the next page; null on the last page'),
})

export const ControlResponse = z.object({ name: z.string(), state: RunStateEnum })
export const RetryResponse = z.object({ name: z.string(), state: RunStateEnum, queued: z.number().int() })

export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  field: z.string().optional(),
  state: z.string().optional(),
  code: z.string().optional(),
})

/** The codes of a refused input, by where it was: a client can tell a typo from a wrong value. */
const INPUT_CODES = {
  body: { unknown: 'E_UNKNOWN_FIELD', bad: 'E_BAD_FIELD' },
  query: { unknown: 'E_UNKNOWN_PARAMETER', bad: 'E_BAD_PARAMETER' },
  path: { unknown: 'E_BAD_PATH', bad: 'E_BAD_PATH' },
} as const

/**
 * Validates `value` or throws a 400 naming the offending field: an unknown field first (a
 * misspelt field also leaves the one it meant missing), else the first wrong type or value out
 * of range. `codes`: the problem's `code` when a field (by its top-level name) is wrong.
 */
export function parse<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: 'body' | 'query' | 'path',
  codes: Record<string, string> = {},
): z.output<T> {
  const result = schema.safeParse(value ?? {})
  if (result.success) return result.data
  const issue = result.error.issues.find((i) => i.code === 'unrecognized_keys') ?? result.error.issues[0]!
  if (issue.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0]].join('.')
    const known = issue.path.length === 0 && schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined
    // A query string is short and seen whole in the URL: say every parameter the endpoint takes.
    if (where === 'query') {
      const takes = known?.length ? `this endpoint takes only ${known.join(', ')}` : 'this endpoint takes none'
      const hint = known ? didYouMean(field, known) : ''
      return fail(
        `unknown query parameter "${field}"${hint ? `${hint} T${takes.slice(1)}` : `: ${takes}`}`,
        field,
        INPUT_CODES.query.unknown,
      )
    }
    return fail(`unknown field "${field}" in the ${where}${known ? didYouMean(field, known) : ''}`, field, INPUT_CODES[where].unknown)
  }
  const field = issue.path.join('.')
  if (!field) return fail(`the ${where} must be a JSON object`, undefined, where === 'body' ? 'E_BAD_BODY' : INPUT_CODES[where].bad)
  const top = String(issue.path[0])
  return fail(`${field}: ${issue.message}`, field, Object.hasOwn(codes, top) ? codes[top] : INPUT_CODES[where].bad)
}

function fail(detail: string, field: string | undefined, code: string | undefined): never {
  throw badRequest(detail, field, code)
}
