import { defineMigration } from 'evolvekit'
import { holdWhileAsked } from '../app/audit.ts'
import { normaliseBody, unnormalisedBody } from '../app/text.ts'

// Pattern: `mode: 'snapshot'` — rewrite (nearly) every row of a big table, with a way back.
// Every comment app v1 stored as typed gets its body normalised (line breaks, blanks): that is
// most of the biggest table. In place, each of those rows would be updated under the app's
// feet: every batch competes with the app's new comments and, on PostgreSQL, every updated row
// leaves a dead version behind (the table and its index double until vacuum catches up). In
// snapshot mode the runner turns read-only on for `comments` (reads go on; the app's new
// comments are refused with a message and sent again later), copies the table, evolves the copy
// at full speed with nobody to wait for, verifies it, swaps it in atomically and keeps the old
// table as a backup: `evolve revert` puts it back, `evolve cleanup` drops it.
// Use `mode: 'snapshot'` when most rows of a big table change, when you want the old table to
// fall back on, and when the table's writes can wait for the length of a copy. It needs a
// single-column key; `evolve plan` lists what depends on the table and what the swap does with it.
export default defineMigration({
  description: 'Normalise the body of every comment stored as typed (line breaks, blanks)',
  table: 'comments',
  mode: 'snapshot',
  pending: (q) => unnormalisedBody(q),
  transform: (row) => ({ body: normaliseBody(row.body as string) }),
  batchSize: 5000,
  // Checked on the evolved copy before the swap (evolvekit checks by itself that nothing is
  // still pending, that no row went missing and that the other columns came through): this one
  // checks what normalising could break — no comment may have lost its text.
  async verify(knex, table) {
    await holdWhileAsked() // the demo's, so a small table's read-only window is long enough to see
    return (await knex(table).where('body', '').first('id')) === undefined
  },
})
