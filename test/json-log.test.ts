// `evolve run --log-format json` as a record an operator ships: every stdout line JSON, with host and
// pid, other processes' pauses and resumes in it, and a fatal error as its last line.
import assert from 'node:assert/strict'
import { hostname, tmpdir } from 'node:os'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { exitOf, jsonLines, output, runCli, spawnCli } from './helpers/cli.ts'
import { dialects, withDb } from './helpers/databases.ts'
import { createItems, counterHistogram, makeProject, upMigration } from './helpers/fixtures.ts'

const ROWS = 300

for (const d of dialects) {
  describe(d, () => {
    it("logs a pause and a resume made by another process, with who and why, on lines that all carry the runner's host and pid", () =>
      withDb(d, async (db) => {
        await createItems(db.knex, ROWS)
        const flag = (dir: string) => path.join(dir, 'slow.flag')
        // 100 ms per batch of 10 while the flag exists: the run is still going when it is paused.
        const project = await makeProject(db, (dir) => upMigration({ batchSize: 10, slowWhile: [flag(dir), 100] }))
        await writeFile(flag(project.dir), '')
        try {
          const run = spawnCli(['run', ...project.flags, '--batch-size', '10', '--log-format', 'json'])
          await run.waitFor('"event":"batch:done"')
          const pause = await runCli(['pause', project.name, ...project.dbFlags, '--reason', 'deploy window'])
          assert.equal(pause.code, 0, output(pause))
          await run.waitFor(/"event":"run:state"[^\n]*"to":"paused"/)
          const resume = await runCli(['resume', project.name, ...project.dbFlags])
          assert.equal(resume.code, 0, output(resume))
          await run.waitFor(/"event":"run:state"[^\n]*"from":"paused","to":"running"/)
          await rm(flag(project.dir))
          const result = await exitOf(run)
          assert.equal(result.code, 0, output(result))
          const lines = jsonLines(result.stdout)
          for (const line of lines) assert.deepEqual([line.pid, line.hostname], [run.child.pid, hostname()], JSON.stringify(line))
          const changes = lines.filter((l) => l.event === 'run:state').map(({ from, to, reason }) => ({ from, to, reason }))
          assert.deepEqual(changes, [
            { from: 'pending', to: 'running', reason: 'start' },
            { from: 'running', to: 'paused', reason: 'deploy window' },
            { from: 'paused', to: 'running', reason: 'resume' },
            { from: 'running', to: 'done', reason: null },
          ])
          // The pause and the resume are the operator's (user@host), not this runner's.
          const paused = lines.find((l) => l.event === 'run:state' && l.to === 'paused')
          assert.doesNotMatch(String(paused?.by), /^runner /)
          assert.match(String(paused?.msg), /: running -> paused by .+ \(deploy window\)$/)
          assert.equal(lines.at(-1)?.event, 'summary')
          assert.deepEqual(await counterHistogram(db.knex), { 1: ROWS })
        } finally {
          await project.cleanup()
        }
      }))
  })
}

describe('a fatal error', () => {
  it('ends a --log-format json run with a JSON fatal line on stdout (code, exit code, host, pid); stderr keeps its evolve: line', () =>
    withDb('sqlite', async (db) => {
      const missing = path.join(tmpdir(), `evk-no-such-migrations-${process.pid}`)
      const result = await runCli(['run', '--db', db.url, '--dir', missing, '--log-format', 'json'])
      assert.equal(result.code, 2, output(result))
      const lines = jsonLines(result.stdout)
      assert.equal(lines.length, 1, output(result))
      const [line] = lines
      assert.deepEqual(
        { level: line!.level, event: line!.event, exitCode: line!.exitCode, pid: typeof line!.pid, hostname: line!.hostname },
        { level: 60, event: 'fatal', exitCode: 2, pid: 'number', hostname: hostname() },
      )
      assert.match(String(line!.code), /^E_/)
      assert.equal(`${line!.msg}\n`, result.stderr)
    }))

  it('ends a --json run with an error event', () =>
    withDb('sqlite', async (db) => {
      const missing = path.join(tmpdir(), `evk-no-such-migrations-${process.pid}`)
      const result = await runCli(['run', '--db', db.url, '--dir', missing, '--json'])
      assert.equal(result.code, 2, output(result))
      const [line, ...rest] = jsonLines(result.stdout)
      assert.deepEqual(rest, [])
      assert.deepEqual([line!.event, line!.exitCode], ['error', 2])
      assert.equal(`evolve: ${line!.error}\n`, result.stderr)
    }))
})
