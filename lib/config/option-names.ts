/**
 * How the options that name the database are called in messages: the CLI's flags, or the
 * options of openEvolve(). A library user never typed `--db`, and a CLI user never `{ db }`.
 */
export interface OptionNames {
  /** Where a URL came from, as `(from …)` and `… "<url>" is not a database URL` say it. */
  db: string
  /** How to name the database instead, in "name the database with … or DATABASE_URL". */
  nameDb: string
  /** The fix when nothing names a database. */
  noDatabase: string
  /** The fix when the migrations directory does not exist. */
  noMigrationsDir: string
}

export const CLI_NAMES: OptionNames = {
  db: '--db',
  nameDb: '--db',
  noDatabase:
    'no database configured: pass --db postgres://… or --db sqlite:./app.db, set DATABASE_URL, or create evolve.config.ts with `evolve init`',
  noMigrationsDir: 'create it with `evolve init` or pass --dir',
}

export const LIBRARY_NAMES: OptionNames = {
  db: 'db',
  nameDb: 'openEvolve({ db })',
  noDatabase:
    "no database configured: pass db ('postgres://…' or 'sqlite:./app.db') or your knex to openEvolve, set DATABASE_URL, or create evolve.config.ts with `evolve init`",
  noMigrationsDir: 'create it, or pass the directory your migration files are in (openEvolve({ dir }), or { knex, migrations })',
}
