// The snapshot step: a `mode: 'snapshot'` migration copies `comments`, evolves the copy and swaps
// it in while the app goes on reading the table; its writes to it wait out the read-only window.
import { rmSync, writeFileSync } from 'node:fs'
import { type Step, waitUntil } from './context.ts'
import { evolveOutput, evolveRun, refusalText, status } from './evolve-cli.ts'

const NAME = '20260107000000_normalise-comment-bodies'
/** The app must meet the read-only window this many times before the demo lets the swap go (see holdWhileAsked in app/audit.ts). */
const REFUSALS_TO_SEE = 3

export const snapshot: Step = {
  title: `$ evolve run ${NAME}   (mode: 'snapshot': copy comments, evolve the copy, swap it in)`,
  async run(ctx) {
    const app = ctx.app!
    const before = await app.report()
    // The migration's verify hook waits while this file exists: a small table's window would be
    // over before the app's next comment. The demo lets it go once the app has met the window.
    const hold = `${ctx.holdFile}.snapshot`
    writeFileSync(hold, '')
    const runner = evolveRun(ctx, ['run', NAME], undefined, { DEMO_SNAPSHOT_HOLD_FILE: hold })
    let exited = false
    void runner.exited.then(() => (exited = true))
    const refusedSince = async () => (await app.report()).writesRefused - before.writesRefused
    await waitUntil('the app to meet the read-only window', async () => exited || (await refusedSince()) >= REFUSALS_TO_SEE, 600_000)
    rmSync(hold, { force: true })
    const met = (await app.report()).lastRefusal
    const { code } = await runner.exited
    if (code !== 0) throw new Error(`evolve run ${NAME} exited with ${code}`)

    const entry = (await status(ctx.db)).find((s) => s.name === NAME)!
    const snap = entry.snapshot
    if (entry.state !== 'done' || snap?.step !== 'done' || !snap.readOnly?.until)
      throw new Error(`${NAME} did not swap: ${JSON.stringify(entry)}`)
    ctx.say('  $ evolve status')
    // The header, and the snapshot run's lines: its own, and its copy's (`<name>.shadow`: the copy's evolve, batches and failures).
    const table = (await evolveOutput(ctx.db, ['status'])).split('\n')
    for (const [i, line] of table.entries()) if (i === 0 || line.includes(NAME)) ctx.say(`    ${line}`)
    // Said once the run is over: on a terminal the run's live progress owns the screen until then.
    ctx.say(`  the database refused the app's comments meanwhile: ${refusalText(met)}`)
    const steps = `step ${snap.stepNumber}/${snap.steps.length} ${snap.step}`
    ctx.say(`    (status --json: snapshot ${steps}, read-only ${snap.readOnly.since} → ${snap.readOnly.until}, backup ${snap.backup})`)
    // Read-only is off again: the comments the app kept are accepted now.
    await waitUntil('the refused writes to be accepted', async () => (await app.report()).writesWaiting === 0)
    const after = await app.report()
    const backupRows = Number((await ctx.knex(snap.backup).count({ n: '*' }).first())?.n ?? 0)
    ctx.facts.snapshot = {
      migration: NAME,
      table: snap.table,
      rows: entry.done,
      readOnlyMs: snap.readOnly.ms,
      reads: after.reads - before.reads,
      readerErrors: after.readErrors - before.readErrors,
      refused: after.writesRefused - before.writesRefused,
      retriedOk: after.writesRetriedOk - before.writesRetriedOk,
      backup: snap.backup,
      backupRows,
    }
    const f = ctx.facts.snapshot
    ctx.say(
      `  ${snap.table} was read-only for ${(f.readOnlyMs / 1000).toFixed(1)} s; the evolved copy (${f.rows} rows evolved) is swapped in`,
    )
    ctx.say(`  the app read on: ${f.reads} reads served meanwhile (every front page counts all comments), ${f.readerErrors} failed`)
    ctx.say(
      `  its writes to ${snap.table}: ${f.refused} refused during the window, ${f.retriedOk} accepted after it, ${after.writesWaiting} waiting`,
    )
    ctx.say(`  the old table is kept as ${snap.backup} (${backupRows} rows): \`evolve revert ${NAME}\` swaps it back`)
    ctx.say(`  (refused once the app has written to ${snap.table} since the swap, unless --force); \`evolve cleanup ${NAME}\` drops it`)
  },
}
