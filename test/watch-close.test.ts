// An app that watches runs and then closes the admin object must be able to exit: close() stops
// the watches (a forgotten stop function polled a destroyed pool forever, `watch:error` each
// time), and waits for a read in flight instead of aborting it.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, it } from 'node:test'
import { repoRoot } from './helpers/cli.ts'
import { freshSqlite } from './helpers/databases.ts'
import { createItems, tempDir } from './helpers/fixtures.ts'

describe('close() and watch()', () => {
  it('lets the process exit after close() while a watch was never stopped, with no watch error', async () => {
    const db = await freshSqlite()
    try {
      await createItems(db.knex, 10)
      const dir = await tempDir('evk-watch-close-')
      const script = `
        import { openEvolve } from ${JSON.stringify(`${repoRoot}/lib/index.ts`)}
        const evolve = await openEvolve({ db: ${JSON.stringify(db.url)}, dir: ${JSON.stringify(dir)} })
        const errors = []
        evolve.events.on('watch:error', (e) => errors.push(e.error))
        // Counts the watch's polls, to close while it is polling, not before it began.
        let polls = 0
        let third
        const polled = new Promise((resolve) => (third = resolve))
        const status = evolve.status.bind(evolve)
        evolve.status = () => (++polls === 3 && third(), status())
        evolve.watch({ intervalMs: 5 })
        await polled
        await evolve.close()
        process.on('exit', () => console.log(JSON.stringify({ errors })))
      `
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      child.stdout.on('data', (c) => (out += c))
      child.stderr.on('data', (c) => (out += c))
      // Exiting by itself is the assertion: without the fix the watch's timer keeps it alive for good.
      const exited = await new Promise<number | null>((resolve) => {
        const guard = setTimeout(() => {
          child.kill('SIGKILL')
          resolve(null)
        }, 60_000)
        child.once('exit', (code) => {
          clearTimeout(guard)
          resolve(code)
        })
      })
      assert.equal(exited, 0, `the process did not exit by itself after close(): ${out}`)
      assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1)!), { errors: [] })
    } finally {
      await db.drop()
    }
  })
})
