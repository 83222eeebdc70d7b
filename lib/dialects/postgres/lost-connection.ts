/** The part of a pg Client this needs. */
interface PgConnection {
  query: (...args: unknown[]) => unknown
  on(event: 'error', listener: (err: Error & { code?: string }) => void): unknown
}

type Callback = (err: (Error & { code?: string }) | null, result?: unknown) => void

/** What the server's reason means for evolvekit, by SQLSTATE. */
const MEANINGS: Record<string, string> = {
  '25P03':
    "the transaction sat idle between two statements for longer than idle_in_transaction_session_timeout; a batch sets it to the migration's statementTimeoutMs: a transform or up awaited that long inside the batch (raise statementTimeoutMs, or await less there)",
  '57P05': 'the session sat idle for longer than idle_session_timeout',
}

/**
 * When the server ends a connection between two statements (an idle-in-transaction timeout,
 * SQLSTATE 25P03), pg reports the server's reason only as an 'error' event; the next query, and
 * the ROLLBACK after it, fail with "Client has encountered a connection error and is not
 * queryable", which names no cause (a user trial: a row recorded as failed with that, the server's
 * reason nowhere). Such a query fails here with the server's reason, its SQLSTATE and what it
 * means instead. Added to each connection evolvekit's own knex opens (its pool's afterCreate).
 */
export function nameLostConnection(conn: PgConnection): void {
  let lost: (Error & { code?: string }) | undefined
  conn.on('error', (err) => {
    lost ??= err
  })
  const query = conn.query.bind(conn)
  conn.query = (...args: unknown[]) => {
    const last = args.length - 1
    const callback = args[last]
    if (lost !== undefined && typeof callback === 'function') {
      const reason = lost
      args[last] = ((err, result) => (callback as Callback)(err && err.code === undefined ? named(reason) : err, result)) as Callback
    }
    return query(...args)
  }
}

/** A new error each time: knex prefixes each query's SQL to the message of the error it gets. */
function named(reason: Error & { code?: string }): Error & { code?: string } {
  const meaning = reason.code === undefined ? undefined : MEANINGS[reason.code]
  const code = reason.code === undefined ? '' : `${reason.code}: `
  const message = `the server ended the connection (${code}${reason.message})${meaning === undefined ? '' : `: ${meaning}`}`
  return Object.assign(new Error(message, { cause: reason }), { code: reason.code })
}
