// The admin HTTP API: built on the admin layer (lib/api) only.
export { createAdminApi, adminApiPlugin, BODY_LIMIT } from './admin-api.ts'
export type { AdminApiOptions, AdminApiPluginOptions } from './admin-api.ts'
export { parseTokenFile, tokensFromEnv, checkTokens } from './auth.ts'
export type { ApiToken } from './auth.ts'
export { MAX_PARAM_LENGTH, frameworkErrors } from './problem.ts'
