// Which SQLite errors make a batch retry (lib/dialects/sqlite/errors.ts): real errors from
// better-sqlite3 on a scratch file, and the extended codes it reports.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import { classifySqliteError } from '../../lib/dialects/sqlite/errors.ts'

const dir = mkdtempSync(path.join(os.tmpdir(), 'evk-unit-sqlite-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** The error `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return assert.fail('expected an error')
}

describe('classifying SQLite errors', () => {
  it('retries SQLITE_BUSY, which a writer meets while another connection holds the write lock', () => {
    const file = path.join(dir, 'busy.db')
    const app = new Database(file)
    const run = new Database(file, { timeout: 0 })
    try {
      app.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
      app.exec('BEGIN IMMEDIATE')
      app.exec("INSERT INTO t (v) VALUES ('app')")
      const error = thrown(() => run.prepare("INSERT INTO t (v) VALUES ('run')").run())
      assert.ok(error instanceof Database.SqliteError, String(error))
      assert.equal(error.code, 'SQLITE_BUSY')
      assert.equal(classifySqliteError(error), 'busy')
    } finally {
      app.close()
      run.close()
    }
  })

  it('retries the extended busy and locked codes', () => {
    for (const code of [
      'SQLITE_BUSY_SNAPSHOT',
      'SQLITE_BUSY_RECOVERY',
      'SQLITE_BUSY_TIMEOUT',
      'SQLITE_LOCKED',
      'SQLITE_LOCKED_SHAREDCACHE',
    ]) {
      assert.equal(classifySqliteError(new Database.SqliteError('database is locked', code)), 'busy', code)
    }
  })

  it('does not retry an error of the migration or the data, from a real statement', () => {
    const db = new Database(path.join(dir, 'errors.db'))
    try {
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)')
      db.exec("INSERT INTO t (v) VALUES ('a')")
      const notNull = thrown(() => db.prepare('INSERT INTO t (v) VALUES (NULL)').run())
      assert.equal((notNull as { code: string }).code, 'SQLITE_CONSTRAINT_NOTNULL')
      assert.equal(classifySqliteError(notNull), null)
      const unique = thrown(() => db.prepare("INSERT INTO t (v) VALUES ('a')").run())
      assert.equal((unique as { code: string }).code, 'SQLITE_CONSTRAINT_UNIQUE')
      assert.equal(classifySqliteError(unique), null)
      const noTable = thrown(() => db.prepare('SELECT * FROM nope').run())
      assert.equal(classifySqliteError(noTable), null)
    } finally {
      db.close()
    }
  })

  it('does not retry codes that only start like a busy one, nor what is not a SQLite error', () => {
    assert.equal(classifySqliteError(new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_LOCK')), null)
    assert.equal(classifySqliteError(new Database.SqliteError('readonly', 'SQLITE_READONLY')), null)
    assert.equal(classifySqliteError(new Error('database is locked')), null, 'no code, no retry')
    assert.equal(classifySqliteError(null), null)
    assert.equal(classifySqliteError('SQLITE_BUSY'), null)
    assert.equal(classifySqliteError({ code: 5 }), null, 'the numeric result code is not what better-sqlite3 reports')
  })
})
