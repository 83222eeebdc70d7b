// The rows `evolve ui` builds from a real database (its backend, without the worker thread): runs
// the database knows with no file in this --dir are no broken files. A snapshot run's copy run
// (`<name>.shadow`) sits under its run; another directory's run shows its state, marked no file here.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { cleanup, render } from 'ink-testing-library'
import { createElement } from 'react'
import { UiBackend } from '../../cli/ui/backend.ts'
import { DetailPane } from '../../cli/ui/detail-pane.tsx'
import { RunTable } from '../../cli/ui/run-table.tsx'
import { openEvolve } from '../../lib/index.ts'
import { output, runCli } from '../helpers/cli.ts'
import { withDb } from '../helpers/databases.ts'
import { createShop, migrationSource, snapshotMigration, writeFiles } from '../helpers/fixtures.ts'

describe('dashboard rows of runs without a file here', () => {
  it('lists the copy run under its snapshot run and another directory’s run with its state, neither as invalid', () =>
    withDb('sqlite', async (db) => {
      await createShop(db, 50)
      const here = await writeFiles({ '002_snap.ts': snapshotMigration() })
      const elsewhere = await writeFiles({
        '001_names.ts': migrationSource(
          `{ table: 'users', pending: (q) => q.where('name', 'like', 'name %'), set: { name: (k) => k.raw("'x'") } }`,
        ),
      })
      for (const dir of [elsewhere, here]) {
        const run = await runCli(['run', '--db', db.url, '--dir', dir])
        assert.equal(run.code, 0, output(run))
      }

      const evolve = await openEvolve({ db: db.url, dir: here })
      const backend = new UiBackend(evolve, () => {})
      try {
        const { rows } = await backend.snapshot()
        assert.deepEqual(
          rows.map((r) => [r.name, r.progress.state, r.problem, r.noFile, r.copyOf]),
          [
            ['001_names', 'done', null, true, null],
            ['002_snap', 'done', null, false, null],
            ['002_snap.shadow', 'done', null, true, '002_snap'],
          ],
        )
        const ui = render(createElement(RunTable, { rows, selected: 0, width: 100, height: 10 }))
        const f = ui.lastFrame() ?? ''
        assert.doesNotMatch(f, /invalid/)
        assert.match(f, /001_names\s+\(no file here\) done\s+█+\s+100%/)
        assert.match(f, /002_snap\s+done/)
        assert.match(f, /└ 002_snap\.shadow\s+done/)
        cleanup()
      } finally {
        await backend.close()
      }
    }))

  it('shows a reverted snapshot run as reverted in the list and the detail pane, its snapshot in words', () =>
    withDb('sqlite', async (db) => {
      await createShop(db, 50)
      const dir = await writeFiles({ '002_snap.ts': snapshotMigration() })
      for (const args of [['run'], ['revert', '002_snap']]) {
        const result = await runCli([...args, '--db', db.url, '--dir', dir])
        assert.equal(result.code, 0, output(result))
      }
      const evolve = await openEvolve({ db: db.url, dir })
      const backend = new UiBackend(evolve, () => {})
      try {
        const { rows } = await backend.snapshot()
        const snap = rows.find((r) => r.name === '002_snap')!
        assert.equal(snap.progress.state, 'pending', 'pending again, as the database has it')
        const list = render(createElement(RunTable, { rows, selected: 0, width: 80, height: 10 }))
        assert.match(list.lastFrame() ?? '', /002_snap\s+reverted…\s/)
        const detail = render(createElement(DetailPane, { row: snap, events: [], rates: [], width: 100, height: 12 }))
        const f = detail.lastFrame() ?? ''
        assert.match(f, /002_snap · reverted \(evolve cleanup 002_snap, then it can run again\)/)
        assert.match(f, /snapshot reverted · users · swapped \d\d:\d\d:\d\d/)
        assert.match(f, /evolved table kept as users__evolve_new_\d+; users is back as before the swap/)
        assert.doesNotMatch(f, /[{}"]/, 'no JSON')
        cleanup()
      } finally {
        await backend.close()
      }
    }))
})
