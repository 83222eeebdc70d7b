// The one import for test fixtures. The helpers live in small files by concept; each exists
// once, with one signature:
//   tables.ts             the data tables (users, items): seed, read, write as the app would
//   tracking.ts           read-only probes of the evolve_* tables (take a Knex, safe to poll early)
//   files.ts              temp dirs, migration files, projects with a config, gated workspaces
//   migration-sources.ts  sources of migration files
//   wait.ts               waitUntil: wait on a condition, never on a clock
//   snapshot-fixtures.ts  the shop schema snapshot mode is tested on (views, foreign keys, triggers)
//   terminal.ts           tmux: a real terminal for `evolve ui` and live progress
// Fresh databases are in databases.ts, the CLI runner and its --json readers in cli.ts.
export * from './files.ts'
export * from './migration-sources.ts'
export * from './snapshot-fixtures.ts'
export * from './tables.ts'
export * from './terminal.ts'
export * from './tracking.ts'
export * from './wait.ts'
export { freePort } from './embedded-postgres.ts'
