// `npm run demo` end to end, on SQLite and on PostgreSQL: the real demo script, the real app
// process, the real CLI. It must finish by itself, exit 0 with every must-be-0 figure at 0,
// and leave no process behind.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { repoRoot } from './helpers/cli.ts'
import { hasTmux, startSession, tmux } from './helpers/fixtures.ts'
import { fresh } from './helpers/databases.ts'
import { lostWrites } from '../migrations-example/app/ledger.ts'
import { createSchema } from '../migrations-example/app/schema.ts'
import { seed, seedCounts } from '../migrations-example/app/seed.ts'
import { Traffic } from '../migrations-example/app/traffic.ts'
import type { Summary } from '../migrations-example/demo/summary.ts'

const ROWS = 3000
const MIGRATIONS = 7

interface DemoResult {
  code: number | null
  stdout: string
  stderr: string
}

function runDemo(args: string[]): Promise<DemoResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  delete env.DATABASE_URL
  delete env.NODE_TEST_CONTEXT
  delete env.FORCE_COLOR
  const child = spawn(process.execPath, [path.join(repoRoot, 'migrations-example', 'demo.js'), '--rows', String(ROWS), '--json', ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Live processes whose command line mentions `marker` (the demo's database): none may be left. */
async function processesMentioning(marker: string): Promise<string[]> {
  const found: string[] = []
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes(marker)) found.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`)
  }
  return found
}

function assertDemoSucceeded(result: DemoResult): Summary {
  const output = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`
  assert.equal(result.code, 0, output)
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Summary
  assert.equal(summary.ok, true, output)
  assert.deepEqual(summary.problems, [])
  assert.equal(summary.appErrors, 0)
  assert.equal(summary.writesLost, 0)
  assert.equal(summary.rowsEvolvedTwice, 0)
  assert.equal(summary.rowsOutOfShape, 0)
  assert.equal(summary.writesNeverAccepted, 0)
  assert.ok(summary.requestsServed > 0, 'the app served requests throughout')
  assert.equal(Object.keys(summary.rowsEvolved).length, MIGRATIONS)
  for (const [name, rows] of Object.entries(summary.rowsEvolved)) assert.ok(rows >= ROWS * 0.75, `${name} evolved ${rows} rows`)
  assert.ok(summary.killedAt, 'the runner was killed')
  assert.ok(
    summary.killedAt.done > 0 && summary.killedAt.done < summary.killedAt.of,
    `killed mid-migration: ${JSON.stringify(summary.killedAt)}`,
  )
  // Read-only: the app's writes met the database's refusal, were kept and all accepted later.
  assert.ok(summary.writesRefused > 0, 'writes were refused while the read-only migration ran')
  assert.equal(summary.writesRetriedOk, summary.writesRefused, 'every refused write was retried and accepted')
  assert.ok(summary.readOnly, 'the read-only step ran')
  assert.ok(summary.readOnly.refused > 0 && summary.readOnly.retriedOk === summary.readOnly.refused, JSON.stringify(summary.readOnly))
  assert.equal(summary.readOnly.banner, 'Maintenance: documents get their permanent addresses; editing is paused for a minute.')
  assert.match(result.stdout, /the database refused \d+ writes: read-only: Maintenance: /)
  // Snapshot: comments copied, evolved and swapped in while the app read it; its writes waited out the window.
  const snap = summary.snapshot
  assert.ok(snap, 'the snapshot step ran')
  assert.equal(snap.table, 'comments')
  assert.equal(snap.readerErrors, 0, 'no read of the app failed or saw an incomplete table')
  assert.ok(snap.reads > 0, 'the app read on during the snapshot run')
  assert.ok(
    snap.refused > 0 && snap.retriedOk === snap.refused,
    `writes refused in the window, all accepted after: ${JSON.stringify(snap)}`,
  )
  assert.ok(snap.readOnlyMs > 0, 'the read-only window was measured')
  assert.ok(snap.backupRows >= 2 * ROWS, `the old table is kept whole as the backup: ${JSON.stringify(snap)}`)
  assert.match(result.stdout, /normalise-comment-bodies: snapshot of comments: swap$/m)
  assert.match(result.stdout, /the old table is kept as comments__evolve_old_\d+/)
  // Off a TTY: plain lines, no colours or cursor movement.
  assert.doesNotMatch(result.stdout, /\x1b\[/) // eslint-disable-line no-control-regex
  assert.match(result.stdout, /^ {2}writes lost: 0$/m)
  return summary
}

describe('npm run demo', () => {
  it('runs on a fresh SQLite file, exits 0 with every must-be-0 figure at 0 and leaves no process running', async () => {
    const workdir = await mkdtemp(path.join(os.tmpdir(), 'evk-demo-'))
    try {
      assertDemoSucceeded(await runDemo(['--workdir', workdir]))
      assert.deepEqual(await processesMentioning(workdir), [])
    } finally {
      await rm(workdir, { recursive: true, force: true })
    }
  })

  it('runs the same demo on PostgreSQL with --db, exits 0 with every must-be-0 figure at 0 and leaves no process running', async () => {
    const db = await fresh('postgres')
    try {
      assertDemoSucceeded(await runDemo(['--db', db.url]))
      assert.deepEqual(await processesMentioning(db.url), [])
    } finally {
      await db.drop()
    }
  })
})

describe('npm run demo in a terminal', { skip: hasTmux ? false : 'tmux is not installed' }, () => {
  it('lets evolve run draw its live progress, still kills and resumes the runner, and exits 0', async () => {
    const workdir = await mkdtemp(path.join(os.tmpdir(), 'evk-demo-tty-'))
    const session = `evk-demo-${process.pid}`
    const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-1000', '-t', session)
    try {
      const demo = [process.execPath, path.join(repoRoot, 'migrations-example', 'demo.js'), '--rows', String(ROWS), '--workdir', workdir]
      const command = `env -u DATABASE_URL -u NODE_TEST_CONTEXT ${demo.map((a) => `'${a}'`).join(' ')}; echo DEMO-EXITED $?; sleep 600`
      startSession(session, repoRoot, command)
      let s = screen()
      for (const deadline = Date.now() + 240_000; !/DEMO-EXITED \d+/.test(s); s = screen()) {
        if (Date.now() > deadline) throw new Error(`the demo never finished:\n${s}`)
        await sleep(200)
      }
      assert.match(s, /DEMO-EXITED 0/, s)
      assert.match(s, /^demo: ok$/m, s)
      // The live progress of `evolve run` (ink's bar), drawn by the child on the terminal itself.
      assert.match(s, /normalise-comment-bodies\s+done\s+█+ 100%/, s)
      assert.match(s, /killed with SIGKILL inside batch \d+/, s)
      assert.match(s, /the resumed run took the batch over/, s)
      assert.match(s, /reader errors: 0;/, s)
      // The tmux server and the pane's shell mention the workdir too: no node process may.
      assert.deepEqual(
        (await processesMentioning(workdir)).filter((p) => /^\d+: \S*node /.test(p)),
        [],
      )
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session])
      await rm(workdir, { recursive: true, force: true })
    }
  })
})

describe("the example app's traffic", () => {
  it('keeps the writes the database refuses and submits them again until they are accepted, losing none', async () => {
    const db = await fresh('sqlite')
    const tables = ['users', 'documents', 'comments']
    const traffic = new Traffic({
      knex: db.knex,
      rate: 200,
      retryEveryMs: 20,
      isWriteRefused: (err) => err instanceof Error && err.message.includes('demo: read-only'),
    })
    const waitFor = async (what: string, check: () => boolean) => {
      for (let i = 0; i < 3000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
      assert.ok(check(), `waited for ${what}: ${JSON.stringify(traffic.report())}`)
    }
    try {
      await createSchema(db.knex)
      await seed(db.knex, seedCounts(200))
      // A stand-in for the read-only switch: every write fails with a recognisable message.
      for (const t of tables)
        for (const op of ['INSERT', 'UPDATE'])
          await db.knex.raw(`CREATE TRIGGER refuse_${op}_${t} BEFORE ${op} ON ${t} BEGIN SELECT RAISE(ABORT, 'demo: read-only'); END`)
      await traffic.start()
      await waitFor('refused writes', () => traffic.report().writesRefused >= 5)
      assert.equal(traffic.report().writes, 0, 'no write was accepted while they were refused')
      for (const t of tables) for (const op of ['INSERT', 'UPDATE']) await db.knex.raw(`DROP TRIGGER refuse_${op}_${t}`)
      await waitFor('the refused writes to be accepted', () => traffic.report().writesRetriedOk >= 5)
      const report = await traffic.stop()
      assert.equal(report.errors, 0, report.errorSamples.join('; '))
      assert.equal(report.writesWaiting, 0)
      assert.equal(report.writesRetriedOk, report.writesRefused)
      assert.ok(report.reads > 0, 'reads were served while writes were refused')
      const accepted = Object.values(traffic.ledger.inserted).flat().length + Object.keys(traffic.ledger.edited).length
      assert.ok(accepted >= report.writesRetriedOk, `every retried write is in the ledger: ${accepted}`)
      assert.deepEqual(await lostWrites(db.knex, traffic.ledger), [])
    } finally {
      await traffic.stop()
      await db.drop()
    }
  })
})
