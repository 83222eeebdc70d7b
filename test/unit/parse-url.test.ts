// Database URLs (lib/config/parse-url.ts): which client each names, and that a password
// never reaches a message or a log line.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseDatabaseUrl, redact } from '../../lib/config/parse-url.ts'
import { EvolveUsageError } from '../../lib/errors.ts'

describe('redacting a database URL', () => {
  it('hides the password and keeps everything else', () => {
    assert.equal(redact('postgres://app:s3cret@db.internal:5432/shop'), 'postgres://app:***@db.internal:5432/shop')
    assert.equal(
      redact('postgresql://app:s3cret@db.internal/shop?sslmode=require'),
      'postgresql://app:***@db.internal/shop?sslmode=require',
    )
  })

  it('hides a percent-encoded password and an empty one', () => {
    assert.equal(redact('postgres://app:p%40ss%2Fword@db/shop'), 'postgres://app:***@db/shop')
    assert.equal(redact('postgres://app:@db/shop'), 'postgres://app:***@db/shop')
  })

  it('hides the password of a URL typed without its scheme', () => {
    assert.equal(redact('app:s3cret@db.internal/shop'), 'app:***@db.internal/shop')
  })

  it('leaves a URL without a password as it is', () => {
    for (const url of ['postgres://app@db/shop', 'postgres://db:5432/shop', 'sqlite:./app.db', 'sqlite:///var/data/app.db'])
      assert.equal(redact(url), url)
  })

  it('hides all of a password that holds a raw "@" or "/"', () => {
    assert.equal(redact('postgres://app:p@ss@db/shop'), 'postgres://app:***@db/shop')
    assert.equal(redact('postgres://app:pa/ss@db/shop'), 'postgres://app:***@db/shop')
    assert.equal(redact('postgres://app@db:5432/shop?password=s3cret&ssl=true'), 'postgres://app@db:5432/shop?password=***&ssl=true')
    assert.equal(redact('postgres://db:5432/shop'), 'postgres://db:5432/shop')
  })
})

describe('parsing a database URL', () => {
  it('takes postgres:// and postgresql:// URLs as they are, for pg', () => {
    assert.deepEqual(parseDatabaseUrl('postgres://app:pw@db/shop', '/srv', '--db'), {
      client: 'pg',
      connection: 'postgres://app:pw@db/shop',
    })
    assert.deepEqual(parseDatabaseUrl('postgresql://db/shop', '/srv', '--db'), { client: 'pg', connection: 'postgresql://db/shop' })
  })

  it('resolves a relative sqlite: path against the working directory and keeps an absolute one', () => {
    const sqlite = (filename: string) => ({ client: 'better-sqlite3', connection: { filename } })
    assert.deepEqual(parseDatabaseUrl('sqlite:./app.db', '/srv/app', '--db'), sqlite('/srv/app/app.db'))
    assert.deepEqual(parseDatabaseUrl('sqlite:data/app.db', '/srv/app', '--db'), sqlite('/srv/app/data/app.db'))
    assert.deepEqual(parseDatabaseUrl('sqlite:/var/app.db', '/srv/app', '--db'), sqlite('/var/app.db'))
    assert.deepEqual(parseDatabaseUrl('sqlite:///var/app.db', '/srv/app', '--db'), sqlite('/var/app.db'))
  })

  it('refuses sqlite: without a file, saying how to write one', () => {
    assert.throws(
      () => parseDatabaseUrl('sqlite:', '/srv', 'DATABASE_URL'),
      (error: unknown) =>
        error instanceof EvolveUsageError &&
        error.code === 'E_BAD_URL' &&
        /^DATABASE_URL "sqlite:" names no file: use sqlite:<path>/.test(error.message),
    )
  })

  it('refuses another scheme, naming where the URL came from, without its password', () => {
    assert.throws(
      () => parseDatabaseUrl('mysql://app:s3cret@db/shop', '/srv', '--db'),
      (error: unknown) => {
        assert.ok(error instanceof EvolveUsageError)
        assert.equal(error.code, 'E_BAD_URL')
        assert.equal(
          error.message,
          '--db "mysql://app:***@db/shop" is not a database URL: use postgres://user:password@host:5432/db or sqlite:<path>',
        )
        return true
      },
    )
  })
})
