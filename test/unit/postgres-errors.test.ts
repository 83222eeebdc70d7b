// Which PostgreSQL errors make a batch retry (lib/dialects/postgres/errors.ts), with errors
// shaped as pg delivers them: a DatabaseError carrying a SQLSTATE, or a node socket error.
import assert from 'node:assert/strict'
import net from 'node:net'
import { describe, it } from 'node:test'
import pg from 'pg'
import { classifyPostgresError } from '../../lib/dialects/postgres/errors.ts'

/** A server error as pg's protocol parser builds it. */
function serverError(code: string, message: string): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length + 50, 'error')
  return Object.assign(error, { severity: 'ERROR', code })
}

/** A socket error as node's net layer builds it (errno, syscall, address). */
function socketError(code: string, syscall = 'connect'): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code} 127.0.0.1:5432`), { errno: -1, code, syscall, address: '127.0.0.1', port: 5432 })
}

describe('classifying PostgreSQL errors', () => {
  it('retries the conflicts of a live app: deadlock, serialization failure, lock and statement timeouts', () => {
    assert.equal(classifyPostgresError(serverError('40P01', 'deadlock detected')), 'deadlock')
    assert.equal(classifyPostgresError(serverError('40001', 'could not serialize access due to concurrent update')), 'serialization')
    assert.equal(classifyPostgresError(serverError('55P03', 'canceling statement due to lock timeout')), 'lock_timeout')
    assert.equal(classifyPostgresError(serverError('57014', 'canceling statement due to statement timeout')), 'statement_timeout')
  })

  it('retries a server that goes away or turns connections down', () => {
    assert.equal(classifyPostgresError(serverError('57P01', 'terminating connection due to administrator command')), 'connection')
    assert.equal(classifyPostgresError(serverError('57P03', 'the database system is starting up')), 'connection')
    assert.equal(classifyPostgresError(serverError('53300', 'sorry, too many clients already')), 'connection')
    assert.equal(classifyPostgresError(serverError('08006', 'connection failure')), 'connection')
  })

  it('retries socket errors and a connection pg saw end', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'])
      assert.equal(classifyPostgresError(socketError(code)), 'connection', code)
    assert.equal(classifyPostgresError(new Error('Connection terminated unexpectedly')), 'connection')
    assert.equal(classifyPostgresError(new Error('Connection terminated')), 'connection')
  })

  it('retries the error a real refused connection gives', async () => {
    // A port nobody listens on: bind one, close it, then connect to it.
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as net.AddressInfo
    await new Promise((resolve) => server.close(resolve))
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'nobody', database: 'none' })
    const error = await client.connect().then(
      () => assert.fail('connected to a closed port'),
      (e: unknown) => e,
    )
    assert.equal((error as NodeJS.ErrnoException).code, 'ECONNREFUSED')
    assert.equal(classifyPostgresError(error), 'connection')
  })

  it('does not retry an error of the migration or the data: retrying could not help', () => {
    assert.equal(classifyPostgresError(serverError('23505', 'duplicate key value violates unique constraint "users_email_key"')), null)
    assert.equal(classifyPostgresError(serverError('22012', 'division by zero')), null)
    assert.equal(classifyPostgresError(serverError('42P01', 'relation "userz" does not exist')), null)
    assert.equal(classifyPostgresError(serverError('42703', 'column "emial" does not exist')), null)
    assert.equal(classifyPostgresError(serverError('23502', 'null value in column "email" violates not-null constraint')), null)
    assert.equal(classifyPostgresError(socketError('ENOTFOUND', 'getaddrinfo')), null)
  })

  it('does not retry what is not a database error at all', () => {
    assert.equal(classifyPostgresError(new TypeError("Cannot read properties of undefined (reading 'toLowerCase')")), null)
    assert.equal(classifyPostgresError('deadlock detected'), null)
    assert.equal(classifyPostgresError(null), null)
    assert.equal(classifyPostgresError(undefined), null)
    assert.equal(classifyPostgresError({ code: 40001 }), null, 'a SQLSTATE is a string')
  })
})
