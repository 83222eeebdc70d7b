// `evolve ui` in a real terminal (tmux) against PostgreSQL: run, pause, resume, read-only (with a time limit), quit;
// and `evolve run --json` parsed line by line.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { cliPath, repoRoot, runCli } from './helpers/cli.ts'
import { fresh } from './helpers/databases.ts'
import {
  counterHistogram,
  createItems,
  hasTmux,
  makeProject,
  screen,
  startSession,
  tmux,
  upMigration,
  waitUntil,
} from './helpers/fixtures.ts'

/** The commands of the pane's process and its children (after the UI, only the shell's sleep). */
function paneProcesses(session: string): string[] {
  const pane = tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim()
  const own = spawnSync('ps', ['-o', 'comm=', '-p', pane], { encoding: 'utf8' }).stdout
  const children = spawnSync('ps', ['-o', 'comm=', '--ppid', pane], { encoding: 'utf8' }).stdout
  return `${own}\n${children}`.split('\n').filter(Boolean)
}

describe('evolve ui in a terminal', { skip: hasTmux ? false : 'tmux is not installed' }, () => {
  it('runs, pauses and resumes a migration on PostgreSQL, toggles read-only, and quits leaving no process', async () => {
    const db = await fresh('postgres')
    const rows = 3000
    await createItems(db.knex, rows)
    // Slow (every batch 100 ms more while the marker file exists) so it is paused mid-run.
    const project = await makeProject(db, (dir) => upMigration({ batchSize: 20, slowWhile: [path.join(dir, 'slow'), 100] }))
    await writeFile(path.join(path.dirname(project.migrationsDir), 'slow'), '')
    const session = `evk-ui-${process.pid}`
    const state = async () => (await db.knex('evolve_runs').where({ name: project.name }).first())?.state as string | undefined
    try {
      const command = [process.execPath, cliPath, 'ui', '--db', db.url, '--dir', project.migrationsDir].map((a) => `'${a}'`).join(' ')
      startSession(session, repoRoot, `env NO_COLOR=1 ${command}; echo UI-EXITED $?; sleep 600`)
      let s = await screen(session, (x) => x.includes(project.name) && x.includes('pending'), 'the migration, pending')
      assert.match(s, /· 1 migration · 0 workers/)

      tmux('send-keys', '-t', session, 'r')
      s = await screen(session, (x) => /running\*/.test(x) && /batch \d+ done/.test(x), 'the run going here')
      assert.equal(await state(), 'running')

      tmux('send-keys', '-t', session, 'p')
      s = await screen(session, (x) => x.includes(`${project.name}: paused`), 'paused')
      assert.equal(await state(), 'paused', 'the database says paused')
      const doneWhilePaused = await db.knex('evolve_batches').where({ run_name: project.name, state: 'done' }).count({ n: '*' }).first()
      await screen(session, (x) => /paused\*/.test(x), 'the row paused')

      tmux('send-keys', '-t', session, 'u')
      await screen(session, (x) => x.includes(`${project.name}: running`), 'resumed')
      assert.equal(await state(), 'running')
      await waitUntil('batches after resume', async () => {
        const now = await db.knex('evolve_batches').where({ run_name: project.name, state: 'done' }).count({ n: '*' }).first()
        return Number(now!.n) > Number(doneWhilePaused!.n)
      })

      // Read-only on from the UI, for 30 minutes: an app connection's write is refused by the
      // database; then off. The message line starts empty: what is typed is the whole message.
      const opened = await screenAfterO(session)
      assert.ok(!opened.includes('read-only switch not available'))
      assert.match(opened, /> █ +empty: "Maintenance in progress, back soon"/)
      tmux('send-keys', '-t', session, '-l', 'Back in 5 minutes')
      tmux('send-keys', '-t', session, 'Enter')
      await screen(session, (x) => x.includes('Turn it off by itself after'), 'the time limit')
      tmux('send-keys', '-t', session, '-l', '30m')
      tmux('send-keys', '-t', session, 'Enter')
      await screen(session, (x) => x.includes('Turn read-only ON with "Back in 5 minutes" for 30m? (y/N)'), 'the confirmation')
      tmux('send-keys', '-t', session, 'y')
      await screen(session, (x) => /READ-ONLY since \S+ until \S+ by .* "Back in 5 minutes"/.test(x), 'the banner, with its end')
      const switched = await db.knex('evolve_read_only').first()
      assert.equal(switched.message, 'Back in 5 minutes')
      assert.ok(switched.expires_at !== null, 'it turns itself off in 30 minutes')
      await assert.rejects(db.knex('items').where({ id: 1 }).update({ counter: 99 }), 'an app connection’s write is refused')
      tmux('send-keys', '-t', session, 'o')
      await screen(session, (x) => /Turn read-only OFF .*\(y\/N\)/.test(x), 'the confirmation to turn it off, listening')
      tmux('send-keys', '-t', session, 'y')
      await screen(session, (x) => x.includes('read-only is off') && !x.includes('READ-ONLY since'), 'the banner gone')
      await db.knex('items').where({ id: 1 }).update({ counter: 1 })
      tmux('send-keys', '-t', session, 'q')
      s = await screen(session, (x) => x.includes('UI-EXITED'), 'the UI to exit')
      assert.match(s, /UI-EXITED 0/)
      const run = await db.knex('evolve_runs').where({ name: project.name }).first()
      assert.ok(['running', 'done'].includes(run.state), `stopped cleanly, resumable: ${run.state}`)
      assert.equal(
        Number((await db.knex('evolve_workers').whereNull('stopped_at').count({ n: '*' }).first())!.n),
        0,
        'every worker said goodbye',
      )
      const left = paneProcesses(session)
      assert.ok(left.length > 0 && !left.includes('node'), `no evolve process is left behind: ${left.join(', ')}`)

      // The run goes on from where the UI left it, at full speed, nothing done twice.
      await rm(path.join(path.dirname(project.migrationsDir), 'slow'))
      const rest = await runCli(['run', ...project.flags])
      assert.equal(rest.code, 0, rest.stderr)
      assert.deepEqual(await counterHistogram(db.knex), { 1: rows })
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session])
      await project.cleanup()
      await db.drop()
    }
  })

  it('answers a key while a SQLite batch holds the write lock and blocks its thread', async () => {
    const db = await fresh('sqlite')
    await createItems(db.knex, 20)
    // The first batch takes SQLite's write lock, says so, then blocks its thread (a synchronous
    // loop, like a long statement in better-sqlite3) until the test removes the hold file.
    const project = await makeProject(
      db,
      (dir) => `import fs from 'node:fs'
import { defineMigration } from 'evolvekit'
export default defineMigration({
  table: 'items',
  batchSize: 10,
  up: async (rows, { trx }) => {
    await trx('items').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
    fs.writeFileSync(${JSON.stringify(path.join(dir, 'in-batch'))}, '')
    while (fs.existsSync(${JSON.stringify(path.join(dir, 'hold'))})) {}
  },
})
`,
    )
    const dir = path.dirname(project.migrationsDir)
    await writeFile(path.join(dir, 'hold'), '')
    const session = `evk-ui-sqlite-${process.pid}`
    try {
      const command = [process.execPath, cliPath, 'ui', '--db', db.url, '--dir', project.migrationsDir].map((a) => `'${a}'`).join(' ')
      startSession(session, repoRoot, `env NO_COLOR=1 ${command}; echo UI-EXITED $?; sleep 600`, 100, 30)
      await screen(session, (x) => x.includes(project.name) && x.includes('pending'), 'the migration, pending')
      tmux('send-keys', '-t', session, 'r')
      await waitUntil('the first batch holding the lock', async () => existsSync(path.join(dir, 'in-batch')))
      tmux('send-keys', '-t', session, '?')
      await screen(session, (x) => x.includes('evolve ui — keys'), 'the help screen')
      assert.ok(existsSync(path.join(dir, 'hold')), 'the help screen came while the batch still held the lock')
      await rm(path.join(dir, 'hold'))
      tmux('send-keys', '-t', session, 'Escape')
      // Escape then q at once would reach the UI as alt-q.
      await screen(session, (x) => !x.includes('evolve ui — keys'), 'the help screen closed')
      tmux('send-keys', '-t', session, 'q')
      const s = await screen(session, (x) => x.includes('UI-EXITED'), 'the UI to exit')
      assert.match(s, /UI-EXITED 0/)
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session])
      await rm(path.join(dir, 'hold'), { force: true })
      await project.cleanup()
      await db.drop()
    }
  })

  it('run --json prints one JSON object per line and ends with the summary', async () => {
    const db = await fresh('postgres')
    await createItems(db.knex, 200)
    const project = await makeProject(db, upMigration({ batchSize: 50 }))
    try {
      const result = await runCli(['run', '--json', ...project.flags])
      assert.equal(result.code, 0, result.stderr)
      const lines = result.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
      const names = lines.map((l) => l.event)
      assert.ok(names.includes('run:start') && names.includes('batch:done') && names.includes('run:end'), names.join(','))
      assert.ok(names.includes('progress'), 'a progress tick')
      const summary = lines.at(-1)!
      assert.equal(summary.event, 'summary')
      assert.equal(summary.ok, true)
      assert.equal((summary.runs as { state: string }[])[0]!.state, 'done')
      assert.equal(names.filter((n) => n === 'summary').length, 1)
    } finally {
      await project.cleanup()
      await db.drop()
    }
  })
})

/** Presses o and returns the screen once the UI answered (the dialog or the notice). */
async function screenAfterO(session: string): Promise<string> {
  tmux('send-keys', '-t', session, 'o')
  return screen(session, (x) => x.includes('Banner message for the app') || x.includes('read-only switch not available'), 'an answer to o')
}
