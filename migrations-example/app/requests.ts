// What users do on the site, as app v1 and app v2 do it. Reads are page views and searches;
// writes are sign-ups, new documents, comments and edits. v2 writes the new shape only.
import type { Knex } from 'knex'
import { catalogEntry } from './catalog.ts'
import type { Ledger } from './ledger.ts'
import { freeSlugs } from './slugs.ts'
import { type AppVersion, commentRow, documentRow, userRow } from './shapes.ts'

export interface AppState {
  knex: Knex
  ledger: Ledger
  /** Highest ids known: ids are dense (no deletes), so 1..max are all real rows. */
  max: { users: number; documents: number }
  /** Fields with an edit in flight (or waiting for a retry): one edit per field at a time. */
  editing: Set<string>
  /** The most comments a front page showed among those finished: comments are never deleted, so none may show fewer. */
  commentsSeen: number
  /** A fresh number for each row written. */
  next(): number
}

/**
 * One user action with its parameters chosen: `run` may be called again later with the same
 * parameters (a write refused during read-only is submitted again, as a user would), by
 * whichever app version is serving then. `release` is called once it is over for good.
 */
export interface Attempt {
  run(version: AppVersion): Promise<void>
  release?(): void
}

export interface AppRequest {
  name: string
  write: boolean
  /** How often, relative to the others. */
  weight: number
  prepare(app: AppState): Attempt
}

const randomId = (max: number) => 1 + Math.floor(Math.random() * max)

async function insertId(q: Knex.QueryBuilder): Promise<number> {
  const [row] = (await q.returning('id')) as { id: number }[]
  return Number(row!.id)
}

export const REQUESTS: AppRequest[] = [
  {
    name: 'view document',
    write: false,
    weight: 45,
    prepare: ({ knex, max }) => ({
      async run(version) {
        const doc = await knex('documents')
          .where({ id: randomId(max.documents) })
          .first()
        if (!doc) return
        await knex('users')
          .where({ id: doc.author_id })
          .first(version === 'v1' ? ['first_name', 'last_name', 'profile_json'] : ['display_name', 'city', 'country'])
        await knex('comments').where({ document_id: doc.id }).orderBy('id', 'desc').limit(20)
      },
    }),
  },
  {
    name: 'view profile',
    write: false,
    weight: 15,
    prepare: ({ knex, max }) => ({
      async run(version) {
        const columns = version === 'v1' ? ['first_name', 'last_name', 'bio', 'profile_json'] : ['display_name', 'bio', 'city', 'country']
        await knex('users')
          .where({ id: randomId(max.users) })
          .first(columns)
      },
    }),
  },
  {
    name: 'search',
    write: false,
    weight: 10,
    prepare: ({ knex, next }) => ({
      async run(version) {
        const word = ['rota', 'coffee', 'goals', 'parking', 'offsite'][next() % 5]!
        if (version === 'v1') await knex('documents').where('title', 'like', `%${word}%`).limit(10).select('id', 'title')
        else await knex('search_entries').where('terms', 'like', `%${word}%`).limit(10).select('document_id', 'title')
      },
    }),
  },
  {
    // Reads the whole comments table: the site's comment count and the latest ones. A table
    // swapped in half-filled, or missing for a moment, shows here as an error or a count lower
    // than one shown before (an incomplete read, counted as an error).
    name: 'front page',
    write: false,
    weight: 8,
    prepare: (app) => ({
      async run() {
        const floor = app.commentsSeen
        const counted = await app.knex('comments').count({ n: '*' }).first()
        await app.knex('comments').orderBy('id', 'desc').limit(10).select('id', 'document_id', 'body')
        const n = Number(counted?.n ?? 0)
        if (n < floor) throw new Error(`incomplete read: the front page counted ${n} comments, an earlier one ${floor}`)
        app.commentsSeen = Math.max(app.commentsSeen, n)
      },
    }),
  },
  {
    name: 'add comment',
    write: true,
    weight: 15,
    prepare: ({ knex, max, ledger, next }) => {
      const [i, documentId, authorId] = [next(), randomId(max.documents), randomId(max.users)]
      return {
        async run(version) {
          const row = commentRow(i, documentId, authorId, version)
          const id = await knex.transaction(async (trx) => {
            const id = await insertId(trx('comments').insert(row))
            if (version === 'v2') await trx('documents').where({ id: row.document_id }).increment('comment_count', 1)
            return id
          })
          ledger.inserted.comments.push(id)
        },
      }
    },
  },
  {
    name: 'new document',
    write: true,
    weight: 5,
    prepare: (app) => {
      const i = app.next()
      const authorId = randomId(app.max.users)
      return {
        async run(version) {
          const row = documentRow(i, authorId, version)
          const id = await app.knex.transaction(async (trx) => {
            const id = await insertId(trx('documents').insert(row))
            if (version === 'v2') {
              // v2 gives the document its URL slug, from the namespace the slug migration fills. After
              // the insert, so the transaction holds SQLite's write lock before it reads the slugs taken.
              const [slug] = await freeSlugs(trx, [row.title])
              await trx('documents').where({ id }).update({ slug })
              await trx('search_entries').insert(catalogEntry({ id, ...row }))
            }
            return id
          })
          app.ledger.inserted.documents.push(id)
          app.max.documents = Math.max(app.max.documents, id)
        },
      }
    },
  },
  {
    name: 'sign up',
    write: true,
    weight: 3,
    prepare: (app) => {
      const i = app.next()
      return {
        async run(version) {
          const id = await insertId(app.knex('users').insert(userRow(i, version)))
          app.ledger.inserted.users.push(id)
          app.max.users = Math.max(app.max.users, id)
        },
      }
    },
  },
  {
    name: 'edit title',
    write: true,
    weight: 4,
    prepare: (app) => {
      const title = `Updated notes #${app.next()}`
      return editField(app, 'documents', 'title', app.max.documents, title, async (trx, id, version) => {
        await trx('documents').where({ id }).update({ title })
        if (version === 'v2') {
          const doc = await trx('documents').where({ id }).first('id', 'title', 'body')
          await trx('search_entries').insert(catalogEntry(doc)).onConflict('document_id').merge()
        }
      })
    },
  },
  {
    name: 'edit profile',
    write: true,
    weight: 3,
    prepare: (app) => {
      const bio = `bio rewritten (${app.next()})`
      return editField(app, 'users', 'bio', app.max.users, bio, async (trx, id) => {
        await trx('users').where({ id }).update({ bio })
      })
    },
  },
]

/**
 * Sets one field of a random row no other request is editing (so the last value recorded is
 * the value the database must hold); records the value once the write committed.
 */
function editField(
  app: AppState,
  table: string,
  column: string,
  max: number,
  value: string,
  write: (trx: Knex.Transaction, id: number, version: AppVersion) => Promise<void>,
): Attempt {
  let id = randomId(max)
  while (app.editing.has(`${table}:${id}:${column}`)) id = randomId(max)
  const field = `${table}:${id}:${column}`
  app.editing.add(field)
  return {
    async run(version) {
      await app.knex.transaction((trx) => write(trx, id, version))
      app.ledger.edited[field] = value
    },
    release: () => app.editing.delete(field),
  }
}
