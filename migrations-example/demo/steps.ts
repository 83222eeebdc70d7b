// The demo, step by step. Each step is one thing evolvekit exists for, shown against a live app.
import { EvolveNotDoneError, assertDone } from 'evolvekit'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { batchCommitted, evolvedTwice } from '../app/audit.ts'
import { lostWrites } from '../app/ledger.ts'
import { createSchema, dropProfileJson, resetDatabase } from '../app/schema.ts'
import { seed, seedCounts } from '../app/seed.ts'
import { startTraffic } from '../app/traffic-client.ts'
import { outOfShape } from './checks.ts'
import { type Step, waitUntil } from './context.ts'
import { evolveOutput, evolveRun, refusalText, restoreTerminal, status } from './evolve-cli.ts'
import { RunWatcher } from './run-watcher.ts'
import { snapshot } from './snapshot-step.ts'

/**
 * The runner is killed in the first migration, while app v1 still writes its old shape,
 * once this share of its rows is done.
 */
const KILL_AT = 0.4

const freshDatabase: Step = {
  title: 'A fresh database with the data app v1 wrote over the years',
  async run(ctx) {
    await resetDatabase(ctx.knex, ctx.db)
    await createSchema(ctx.knex)
    ctx.facts.seeded = seedCounts(ctx.rows)
    await seed(ctx.knex, ctx.facts.seeded, (table, n) => ctx.say(`  ${table}: ${n} rows`))
  },
}

const appV1: Step = {
  title: 'App v1 starts serving: page views, searches, comments, new documents, profile edits',
  async run(ctx) {
    ctx.app = await startTraffic({ db: ctx.db, rate: ctx.rate })
    await waitUntil('the app to serve its first requests', async () => (await ctx.app!.report()).served >= 10)
    ctx.say(`  ${ctx.rate} requests a second, in v1's shape (profile_json, free-form statuses, no counters, no catalog)`)
  },
}

const plan: Step = {
  title: '$ evolve plan',
  async run(ctx) {
    const plans = JSON.parse(await evolveOutput(ctx.db, ['plan', '--json'])) as {
      name: string
      mode: string
      pending: number
      batches: number
      snapshot?: { objects: { kind: string; name: string; action: string }[]; refused: unknown[]; extraBytes: number | null }
    }[]
    ctx.facts.planned = Object.fromEntries(plans.map((p) => [p.name, p.pending]))
    for (const p of plans) {
      ctx.say(`  ${p.name} (${p.snapshot ? 'snapshot' : p.mode}): ${p.pending} rows pending, about ${p.batches} batches`)
      if (!p.snapshot) continue
      // Snapshot mode's preflight: what depends on the table and what the swap does with it.
      for (const o of p.snapshot.objects) ctx.say(`      ${o.kind} ${o.name}: ${o.action}`)
      const disk = p.snapshot.extraBytes === null ? '' : `; the copy needs about ${Math.ceil(p.snapshot.extraBytes / 2 ** 20)} MB more disk`
      ctx.say(`      refused: ${p.snapshot.refused.length === 0 ? 'nothing' : JSON.stringify(p.snapshot.refused)}${disk}`)
    }
  },
}

const runAndKill: Step = {
  title: '$ evolve run   …and kill -9 it in the middle of the first migration',
  async run(ctx) {
    const [first, pending] = Object.entries(ctx.facts.planned!)[0]!
    // Past KILL_AT of the rows, the next batch parks with its work written but uncommitted and
    // says so in a file (see holdIfAsked in app/audit.ts): the kill lands inside its transaction.
    const held = `${ctx.holdFile}.held`
    rmSync(held, { force: true })
    writeFileSync(ctx.holdFile, `${first} ${Math.floor(KILL_AT * pending)}`)
    const runner = evolveRun(ctx, ['run'], new RunWatcher(ctx.say), { DEMO_HOLD_FILE: ctx.holdFile })
    let exited = false
    void runner.exited.then(() => (exited = true))
    await waitUntil('a batch to park for the kill', async () => exited || existsSync(held), 600_000, 20)
    if (!exited) runner.child.kill('SIGKILL')
    const { signal } = await runner.exited
    rmSync(ctx.holdFile, { force: true })
    restoreTerminal(ctx.live)
    const [batch, rows] = existsSync(held) ? readFileSync(held, 'utf8').split(' ').map(Number) : [null, 0]
    rmSync(held, { force: true })
    if (signal !== 'SIGKILL' || batch == null) throw new Error(`the runner finished before it could be killed: give --rows a larger number`)
    ctx.say(`  batch ${batch} of ${first} is open: ${rows} rows written, not committed — kill -9`)
    const entry = (await status(ctx.db)).find((s) => s.name === first)!
    ctx.facts.kill = { migration: first, batch, doneAtKill: entry.done, pending, takenOver: false }
    ctx.say(`  killed with SIGKILL inside batch ${batch}: ${first} is ${entry.state} with no worker, ${entry.done} of ${pending} rows done`)
  },
}

const gateHolds: Step = {
  title: 'The completion gate holds the schema change back',
  async run(ctx) {
    const held = await assertDone(ctx.knex, ctx.facts.kill!.migration).then(
      () => null,
      (err: unknown) => {
        if (err instanceof EvolveNotDoneError) return err.message
        throw err
      },
    )
    if (held === null) throw new Error('assertDone let an unfinished migration through')
    ctx.facts.gateHeld = held
    ctx.say(`  assertDone: ${held}`)
  },
}

const deployV2: Step = {
  title: 'Deploy app v2: it writes the new shape from now on',
  async run(ctx) {
    const report = await ctx.app!.deploy('v2')
    ctx.say(`  v2 serves; the last v1 request finished (${report.served} requests served so far)`)
  },
}

/** The migration that needs the app read-only while it runs (`mode: 'readonly'`). */
const READ_ONLY_MIGRATION = '20260106000000_rekey-document-slugs'
/** The read-only run is throttled to last about this long, so the app's traffic meets it. */
const READ_ONLY_SECONDS = 4

const readOnly: Step = {
  title: `$ evolve run ${READ_ONLY_MIGRATION}   (mode: 'readonly': the app's writes to documents are refused meanwhile)`,
  async run(ctx) {
    const name = READ_ONLY_MIGRATION
    const app = ctx.app!
    const before = await app.report()
    const seen = app.banners.length
    // At full speed the run is over before a user clicks twice; throttled, it lasts a few seconds
    // (a real one lasts as long as it must: that is the outage its read-only mode buys).
    const rowsPerSecond = String(Math.ceil((ctx.facts.planned?.[name] ?? ctx.rows) / READ_ONLY_SECONDS))
    const { code } = await evolveRun(ctx, ['run', name, '--max-rows-per-second', rowsPerSecond], new RunWatcher(ctx.say)).exited
    if (code !== 0) throw new Error(`evolve run ${name} exited with ${code}`)
    const during = await app.report()
    const refused = during.writesRefused - before.writesRefused
    const banner = app.banners.slice(seen).find((b) => b !== null)
    if (refused === 0) throw new Error('no write of the app met read-only: give --rate a larger number')
    if (banner === undefined) throw new Error("the app's read-only switch never showed the banner")
    ctx.say(`  the app's banner (createReadOnlySwitch): "${banner}"`)
    ctx.say(`  the database refused ${refused} writes: ${refusalText(during.lastRefusal)}`)
    ctx.say(`  reads went on: ${during.reads - before.reads} served while the run lasted`)
    // Read-only is off again (the runner turned it off when the run was done): the app's retries get through.
    await waitUntil('the refused writes to be accepted', async () => (await app.report()).writesWaiting === 0)
    await waitUntil('the app to take its banner down', async () => app.banners.at(-1) === null)
    const after = await app.report()
    ctx.facts.readOnly = { migration: name, banner, refused, retriedOk: after.writesRetriedOk - before.writesRetriedOk }
    ctx.say(`  read-only is off: the app retried them, ${after.writesWaiting} still waiting; the banner is gone`)
  },
}

const resume: Step = {
  title: '$ evolve run   (again: resumes where the killed runner stopped, then the rest)',
  async run(ctx) {
    const { code } = await evolveRun(ctx, ['run'], new RunWatcher(ctx.say)).exited
    // The killed batch never committed: rows recorded under its id were evolved by this run, which took it over.
    const { migration, batch } = ctx.facts.kill!
    ctx.facts.kill!.takenOver = await batchCommitted(ctx.knex, migration, batch!)
    if (ctx.facts.kill!.takenOver) ctx.say(`  batch ${batch} of ${migration}, killed half-way, is committed now: taken over and finished`)
    // The migrations' runs (a snapshot run's copy has its own, `<name>.shadow`: not a migration).
    ctx.facts.runs = (await status(ctx.db)).filter((s) => s.name in ctx.facts.planned!)
    if (code !== 0) throw new Error(`evolve run exited with ${code}`)
  },
}

const gatePasses: Step = {
  title: 'The completion gate passes: drop users.profile_json while the app serves',
  async run(ctx) {
    for (const run of ctx.facts.runs!) await assertDone(ctx.knex, run.name)
    await dropProfileJson(ctx.knex)
    ctx.facts.schemaChanged = true
    const served = (await ctx.app!.report()).served
    await waitUntil('the app to serve on after the schema change', async () => (await ctx.app!.report()).served >= served + 20)
    ctx.say('  every migration is done; ALTER TABLE users DROP COLUMN profile_json; the app serves on')
  },
}

const stopApp: Step = {
  title: 'The app stops and hands over its counters and its ledger of accepted writes',
  async run(ctx) {
    const { report, ledger } = await ctx.app!.stop()
    ctx.app = undefined
    ctx.facts.app = report
    ctx.facts.ledger = ledger
    ctx.say(`  ${report.served} requests served (${report.reads} reads, ${report.writes} writes), ${report.errors} errors`)
  },
}

const check: Step = {
  title: 'Checking the data itself',
  async run(ctx) {
    ctx.facts.lostWrites = await lostWrites(ctx.knex, ctx.facts.ledger!)
    ctx.facts.evolvedTwice = await evolvedTwice(ctx.knex)
    ctx.facts.outOfShape = await outOfShape(ctx.knex)
    for (const lost of ctx.facts.lostWrites.slice(0, 5)) ctx.say(`  lost: ${lost}`)
  },
}

export const STEPS: Step[] = [
  freshDatabase,
  appV1,
  plan,
  runAndKill,
  gateHolds,
  deployV2,
  readOnly,
  snapshot,
  resume,
  gatePasses,
  stopApp,
  check,
]
