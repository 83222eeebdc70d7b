import type { Knex } from 'knex'
import type { Batch } from '../store/batches.ts'
import type { WorkerContext } from './context.ts'
import { type BatchRead, readRows } from './read-batch-rows.ts'

/** A batch's rows read before its transaction, and what had been committed when the reading began. */
export interface Prefetched {
  /** null once stale: a retry of the batch after the first attempt. */
  stamp: string | null
  read: BatchRead
  /** How many rows the batch reads under the lock if the early read went stale; all when unset. */
  staleRows?: number
  /** Lets the runner's heartbeats write again (see holdHeartbeats); once is enough, more is harmless. */
  release: () => void
}

/**
 * Where the dialect can tell that nothing was committed since (SQLite: `commitStamp`), a scan
 * batch of a migration that reads rows reads them before its transaction: SQLite has one writer
 * lock, and reading a batch's rows took half the time it held it. The batch then holds the lock
 * only to write, so a waiting app writer gets in during the reading as well as in the pause.
 * The worker does it only while nobody else writes (worker.ts, readsEarly).
 */
export async function prefetchRows(
  ctx: WorkerContext,
  batch: Batch,
  sizer: { rowBytes?: number; isFixed: boolean },
): Promise<Prefetched | undefined> {
  const { dialect } = ctx
  if (!dialect.commitStamp || batch.phase !== 'scan') return undefined
  const release = holdHeartbeats(ctx.turn)
  try {
    const stamp = await dialect.commitStamp(ctx.knex)
    const read = await readRows(ctx.knex, ctx, batch, sizer.rowBytes)
    // A stale read is read again under the lock, a third of it (see stillCurrent), unless the size
    // was fixed (`--batch-size`, an operator's choice): that is kept exactly, however long it holds.
    return { stamp, read, staleRows: sizer.isFixed ? undefined : Math.max(1, Math.ceil(read.rows.length / 3)), release }
  } catch (err) {
    release()
    throw err
  }
}

/**
 * The runner's heartbeat is a write through the same connection: one landing between the early
 * read and the batch's transaction would make the rows stale, about once a second. So from the
 * read on, heartbeats wait (liveness.ts) until the batch's transaction has the connection, which
 * any later statement then queues behind; a heartbeat late by one batch changes nothing.
 */
function holdHeartbeats(turn: WorkerContext['turn']): () => void {
  let release!: () => void
  const quiet = new Promise<void>((resolve) => (release = resolve))
  turn.quiet = quiet
  return () => {
    release()
    if (turn.quiet === quiet) turn.quiet = undefined
  }
}

/** What the batch's transaction does about its rows: use the early read, or read them under the lock, at most `maxRows`. */
export interface RowSource {
  read?: BatchRead
  maxRows?: number
}

/**
 * The first statement of the batch's transaction: the prefetched rows when nothing was committed
 * since they were read, by another connection or through this one (an app writing through
 * evolvekit's own knex, or the runner's own heartbeat). Asked before the batch takes the write
 * lock: its first write then fails with a busy error, and the batch is retried, if anything was
 * committed in between (SQLite's snapshot rule), so no row it writes can have changed since it
 * was read. When something was, the batch reads its rows again under the lock, and only a third
 * as many (`staleRows`): it was sized to hold the lock only to write them, and reading them too
 * would hold it about twice as long (the rest goes back as a pending batch).
 */
export async function stillCurrent(trx: Knex.Transaction, ctx: WorkerContext, p?: Prefetched): Promise<RowSource> {
  if (!p || !ctx.dialect.commitStamp) return {}
  const current = p.stamp !== null && (await ctx.dialect.commitStamp(trx)) === p.stamp
  p.release() // the transaction holds the connection now
  return current ? { read: p.read } : { maxRows: p.staleRows }
}
