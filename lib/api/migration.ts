import { parseMigration } from '../config/migration-schema.ts'
import type { Migration } from '../core/migration.ts'
import type { AnyRow, MigrationDefinition } from './define-migration.ts'

/**
 * Turns a migration definition built in code into a validated `Migration`, so a run can
 * start without files. Throws `EvolveUsageError` naming the field for a bad definition.
 *
 * @example
 * ```ts
 * const m = createMigration('lowercase-emails', defineMigration({ table: 'users', set: { email: (k) => k.raw('lower(email)') } }))
 * const evolve = await openEvolve({ knex, migrations: [m] })
 * await (await evolve.run()).done
 * ```
 */
export function createMigration<Row extends AnyRow = AnyRow>(name: string, definition: MigrationDefinition<Row>): Migration {
  return parseMigration(name, name, definition)
}
