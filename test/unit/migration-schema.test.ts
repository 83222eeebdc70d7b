// Validation of a migration file's default export (lib/config/migration-schema.ts): a good
// definition gets every default, a bad shape a one-line message naming the file and the field.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defineMigration } from '../../lib/api/define-migration.ts'
import { parseMigration } from '../../lib/config/migration-schema.ts'
import { EvolveUsageError } from '../../lib/errors.ts'

const FILE = 'db/evolve/001_lower.ts'
const transform = (row: Record<string, string>) => ({ email: row.email!.toLowerCase() })
const parse = (value: unknown) => parseMigration('001_lower', FILE, value)

/** parse(value) throws a usage error (exit 2 in the CLI) whose message names the file and matches `message`. */
function assertRejected(value: unknown, message: RegExp): void {
  assert.throws(
    () => parse(value),
    (error: unknown) => {
      assert.ok(error instanceof EvolveUsageError, `a usage error, got ${String(error)}`)
      assert.equal(error.code, 'E_MIGRATION_INVALID')
      assert.ok(error.message.startsWith(`${FILE}: `), `the message names the file: ${error.message}`)
      assert.match(error.message, message)
      assert.doesNotMatch(error.message, /\n/, 'one line')
      return true
    },
  )
}

describe('a valid migration definition', () => {
  it('defineMigration hands the definition back unchanged, for the loader to validate', () => {
    const definition = { table: 'users', transform }
    assert.equal(defineMigration(definition), definition)
  })

  it('gets its name, file, mode and every default', () => {
    const migration = parse(defineMigration({ table: 'users', transform }))
    assert.deepEqual(
      { ...migration, transform: undefined },
      {
        name: '001_lower',
        file: FILE,
        description: null,
        table: 'users',
        key: 'id',
        mode: 'transform',
        transform: undefined,
        batchSize: 1000,
        lockTimeoutMs: 1000,
        statementTimeoutMs: 30_000,
        maxAttempts: 50,
        maxFailures: 100,
        sweeps: 3,
        readOnly: false,
        snapshot: false,
      },
    )
    assert.equal(migration.transform, transform)
  })

  it('keeps the options it sets over the defaults', () => {
    const pending = () => {}
    const migration = parse({
      description: 'Lower-case e-mails',
      table: 'app.users',
      key: 'uuid',
      pending,
      batchSize: 50,
      maxAttempts: 3,
      sweeps: 0,
      transform,
    })
    assert.equal(migration.description, 'Lower-case e-mails')
    assert.equal(migration.table, 'app.users')
    assert.equal(migration.key, 'uuid')
    assert.equal(migration.pending, pending)
    assert.equal(migration.batchSize, 50)
    assert.equal(migration.maxAttempts, 3)
    assert.equal(migration.sweeps, 0, 'no sweep is a valid choice')
    assert.equal(migration.lockTimeoutMs, 1000)
  })

  it('takes its mode from the one of transform, set or up it defines', () => {
    assert.equal(parse({ table: 't', set: { email: () => 'x' } }).mode, 'set')
    assert.equal(parse({ table: 't', up: async () => {} }).mode, 'up')
  })
})

describe('a migration definition of the wrong shape', () => {
  it('without a default export says so, and how to keep knex schema migrations apart', () => {
    assertRejected(
      undefined,
      /must be defineMigration\(\{\.\.\.\}\); found no default export; a helper module\? start its file name with "_".*a knex schema migration\? .*--dir/,
    )
  })

  it('that is not an object names what it found', () => {
    assertRejected('users', /must be defineMigration\(\{\.\.\.\}\); found string "users"; a helper module\?/)
    assertRejected(42, /found number 42; /)
    assertRejected(null, /found null; /)
  })

  it('without a table says the table is required', () => {
    assertRejected({ transform }, /field "table" is required: the name of the table to evolve/)
  })

  it('with a misspelt option names it and lists the allowed ones', () => {
    assertRejected(
      { table: 'users', transfrom: transform },
      /unknown option "transfrom" \(allowed: description, table, key, columns, pending, transform, set, up, batchSize,/,
    )
  })

  it('with a function option that is not a function names the field', () => {
    assertRejected({ table: 'users', transform: 'lower(email)' }, /field "transform" must be a function/)
    assertRejected({ table: 'users', transform, pending: 'email <> lower(email)' }, /field "pending" must be a function/)
    assertRejected({ table: 'users', set: { email: 'lower(email)' } }, /field "set\.email" must be a function/)
  })

  it('with a number option that is not a positive integer names the field, what it must be and what it found', () => {
    assertRejected({ table: 'users', transform, batchSize: 0 }, /field "batchSize" must be a positive integer \(found number 0\)$/)
    assertRejected({ table: 'users', transform, batchSize: 2.5 }, /field "batchSize" must be a positive integer \(found number 2\.5\)$/)
    assertRejected({ table: 'users', transform, batchSize: '100' }, /field "batchSize" must be a positive integer \(found string "100"\)$/)
    assertRejected(
      { table: 'users', transform, lockTimeoutMs: -1 },
      /field "lockTimeoutMs" must be a positive integer \(found number -1\)$/,
    )
    assertRejected({ table: 'users', transform, sweeps: -1 }, /field "sweeps" must be a whole number, 0 or more \(found number -1\)$/)
  })

  it('with a table, key or columns of the wrong kind says what each must be', () => {
    assertRejected({ table: 5, transform }, /field "table" must be the name of the table to evolve, a string \(found number 5\)$/)
    assertRejected({ table: '', transform }, /field "table" must not be empty/)
    assertRejected(
      { table: 'users', transform, key: '' },
      /field "key" must be a column name or a list of them, e\.g\. 'id' or \['tenant_id', 'id'\]/,
    )
    assertRejected({ table: 'users', transform, key: 5 }, /field "key" must be a column name .* \(found number 5\)$/)
    assertRejected(
      { table: 'users', transform, columns: 'title' },
      /field "columns" must be a list of column names, e\.g\. \['title'\] \(found string "title"\)$/,
    )
    assertRejected({ table: 'users', transform, columns: [] }, /field "columns" must be a list of column names.* \(found an array of 0\)$/)
  })

  it('with none or several of transform, set and up says to define exactly one', () => {
    assertRejected({ table: 'users' }, /define exactly one of "transform", "set" or "up" \(found none\)/)
    assertRejected({ table: 'users', transform, up: async () => {} }, /define exactly one of .* \(found "transform" and "up"\)/)
  })

  it('with an empty set says it must name a column', () => {
    assertRejected({ table: 'users', set: {} }, /field "set" must name at least one column/)
  })
})

describe('readOnlyMessage', () => {
  it('is kept for a readonly or snapshot migration, and refused where no write is refused or when too long', () => {
    const message = 'Prices are being updated: back in a minute.'
    assert.equal(parse({ table: 'users', transform, mode: 'readonly', readOnlyMessage: message }).readOnlyMessage, message)
    assert.equal(parse({ table: 'users', transform, mode: 'snapshot', readOnlyMessage: message }).readOnlyMessage, message)
    assertRejected({ table: 'users', transform, readOnlyMessage: message }, /"readOnlyMessage" applies to mode 'readonly' and 'snapshot'/)
    assertRejected({ table: 'users', transform, mode: 'readonly', readOnlyMessage: 'x'.repeat(501) }, /at most 500 characters/)
    assertRejected({ table: 'users', transform, mode: 'readonly', readOnlyMessage: '  ' }, /must not be empty/)
  })
})
