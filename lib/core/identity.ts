// A run is known by its migration's name; these say whether the file of that name still defines
// the change its run started with, which runs lost their file, and which new file looks like an
// old one renamed. Docs: docs/migration-files.md#editing-renaming-or-deleting-a-migration-file.
import type { Knex } from 'knex'
import type { Run } from '../store/runs.ts'
import type { Store } from '../store/store.ts'
import { changeOf, changeText, decodeDefinition, definitionOf, encodeDefinition, sameChange } from './definition.ts'
import { assertNotServedOtherwise, encodeOpened, thisOpener } from './identity-opener.ts'
import { changedRefusal, renamedRefusal, servedRefusal } from './identity-messages.ts'
import { liveWorkers } from './liveness.ts'
import type { Migration } from './migration.ts'
import { snapshotOfShadow } from './snapshot/names.ts'

/** What status and plan say of a name's file, beside its run. */
export interface FileIdentity {
  /** The database has a run of this name and the migrations here have no file of it (a snapshot run's copy never has one). */
  noFile: boolean
  /** How the file differs from what its run started with (`table users → accounts`, `its code`), or null. */
  fileChanged: string | null
  /** A migration that has not run whose table and code are those of a run with no file here: that run's name. */
  renamedFrom: string | null
  /** The file was loaded to tell the above and did not load (it throws, or its import did not settle in time): why, in one line. */
  fileError: string | null
}

/** The runs whose migration has no file here, but for snapshot runs' copies (they belong to their run). */
export function runsWithoutFile(runs: Run[], here: readonly string[]): Run[] {
  return runs.filter((r) => !here.includes(r.name) && snapshotOfShadow(r.name) === undefined)
}

/** Whether a run has evolved anything: a pending one (never started, or a reverted snapshot) has not. */
const started = (run: Run | undefined): run is Run => run !== undefined && run.state !== 'pending'

/** The run with no file here whose table and code are `m`'s: `m` looks like it renamed. */
export function renamedRun(m: Migration, runs: Run[], here: readonly string[]): Run | undefined {
  const now = definitionOf(m)
  return runsWithoutFile(runs, here).find((r) => started(r) && sameChange(decodeDefinition(r.definition), now))
}

/**
 * What status and plan say for each name (`loaded`: the migrations whose files loaded; `errors`: why
 * the others that were loaded did not). Pure: the callers read the runs.
 */
export function identities(
  names: string[],
  runs: Run[],
  here: readonly string[],
  loaded: Migration[],
  errors: ReadonlyMap<string, string> = new Map(),
): Map<string, FileIdentity> {
  const byName = new Map(runs.map((r) => [r.name, r]))
  const orphans = new Set(runsWithoutFile(runs, here).map((r) => r.name))
  const out = new Map<string, FileIdentity>()
  for (const name of names) {
    const run = byName.get(name)
    const m = loaded.find((x) => x.name === name)
    const change = m && started(run) ? changeOf(decodeDefinition(run.definition), definitionOf(m)) : null
    const renamed = m && !started(run) ? renamedRun(m, runs, here) : undefined
    out.set(name, {
      noFile: orphans.has(name),
      fileChanged: change ? changeText(change) : null,
      renamedFrom: renamed?.name ?? null,
      fileError: errors.get(name) ?? null,
    })
  }
  return out
}

/** A note `run` gives before it starts; `message` is one line. */
export interface RunNote {
  name: string
  kind: 'code-changed' | 'changed-after-done' | 'renamed' | 'no-file'
  message: string
}

export interface IdentityCheck {
  store: Store
  knex: Knex
  /** The migrations `run` is about to serve. */
  migrations: Migration[]
  /** Every migration name here (files, or a Migration[]). */
  here: string[]
  /** `run` with no names: runs whose file is gone are worth a note. */
  everything: boolean
  /** For `retry`, which serves a run that ended with failed objects; `run` leaves that one alone. */
  retry?: boolean
  allowRerun: boolean
  /** How to allow a rerun, in the caller's words (`--allow-rerun`, `{ allowRerun: true }`). */
  rerunHint: string
  /** Where the files are, for the notes (none over HTTP or without a directory). */
  dir?: string
}

/**
 * Refuses what `run` (or `retry`) must not do, reading only, before anything is written: go on
 * with a run whose table, key or mode changed; serve a run whose code changed while another
 * process serves it with the old; run a done (or started) run's exact change again under a new
 * name, unless allowed. Returns what is to be said instead of refused.
 */
export async function checkIdentity(c: IdentityCheck): Promise<RunNote[]> {
  const { store, knex } = c
  if (!(await store.has(knex))) return []
  const runs = await store.runs.list(knex)
  const notes: RunNote[] = []
  const renamedFrom = new Set<string>()
  for (const m of c.migrations) {
    const run = runs.find((r) => r.name === m.name)
    if (started(run)) {
      const change = changeOf(decodeDefinition(run.definition), definitionOf(m))
      // `run` leaves a run that ended with failed objects to `retry` (open-run.ts): so are its file's changes.
      if (!change || (!c.retry && run.state === 'failed' && run.scanDone)) continue
      if (run.state === 'done') {
        const message = `${m.file} changed since its run ended (${changeText(change)}): \`evolve run\` does not run it again; give a new definition a new file name`
        notes.push({ name: m.name, kind: 'changed-after-done', message })
      } else if (change.structural.length > 0) throw changedRefusal(m, run, change)
      else {
        const serving = await liveWorkers(store, knex, m.name)
        if (serving.length > 0) throw servedRefusal(m, serving)
        const message = `${m.file} changed since its run started: rows evolved before used the old code`
        notes.push({ name: m.name, kind: 'code-changed', message })
      }
      continue
    }
    const old = renamedRun(m, runs, c.here)
    if (!old) continue
    if (!c.allowRerun) throw renamedRefusal(m, old, c.rerunHint)
    renamedFrom.add(old.name)
    const message = `${m.name} looks like ${old.name} renamed (its run is ${old.state}): running it again under the new name, as allowed`
    notes.push({ name: m.name, kind: 'renamed', message })
  }
  if (c.everything) notes.push(...leftBehind(runs, c.here, renamedFrom, c.dir))
  return notes
}

/** Runs `run` (all) leaves alone because their file is not here, though they are not over. */
function leftBehind(runs: Run[], here: readonly string[], renamed: Set<string>, dir: string | undefined): RunNote[] {
  const where = dir === undefined ? 'here' : `in ${dir}`
  return runsWithoutFile(runs, here)
    .filter((r) => (r.state === 'running' || r.state === 'paused') && !renamed.has(r.name))
    .map((r) => ({
      name: r.name,
      kind: 'no-file' as const,
      message: `${r.name} is ${r.state} but has no file ${where}, so \`evolve run\` leaves it: restore its file (another --dir?) to finish it, or \`evolve cancel ${r.name}\` to abandon it`,
    }))
}

/**
 * Stores what `m` is on its run as a runner opens it (lib/core/open-run.ts, retry), and who opens
 * it, in one step under the run row's lock: of two runners with different code starting together,
 * the second sees the first (identity-opener.ts) and is refused (E_MIGRATION_CHANGED) while the first
 * serves the run or is about to. A run whose code changed since it started is stored with the new
 * code and `codeChangedAt`, so the change is said once by `run` and for good by `status`. Refuses a
 * run whose table, key or mode changed. A done run is left as it is.
 */
export async function recordDefinition(store: Store, knex: Knex, m: Migration): Promise<void> {
  await knex.transaction(async (trx) => {
    // The run row first: the update locks it (PostgreSQL) or takes the write lock (SQLite) until commit.
    if (!(await store.runs.update(trx, m.name, {}))) return
    const run = (await store.runs.get(trx, m.name))!
    if (run.state === 'done') return
    const now = definitionOf(m)
    const stored = decodeDefinition(run.definition)
    const change = started(run) ? changeOf(stored, now) : null
    if (change && change.structural.length > 0) throw changedRefusal(m, run, change)
    if (stored && stored.hash !== now.hash) await assertNotServedOtherwise(store, trx, m, run)
    const definition = encodeOpened(now, thisOpener(await store.now(trx)))
    await store.runs.update(trx, m.name, change ? { definition, codeChangedAt: 'now' } : { definition })
  })
}

/** recordDefinition on the run as it is now, when there is one; upgrades older tracking tables first. */
export async function recordDefinitionOf(store: Store, knex: Knex, m: Migration): Promise<void> {
  if (await store.upgradeIfAny(knex)) await recordDefinition(store, knex, m)
}

/**
 * Runs `work` (a Runner's run), then stores what each migration ran on a run that was made without
 * it (a snapshot run's row: snapshot/run-snapshot.ts), done or not, unless it was done before:
 * that one ran some earlier file. Bookkeeping only, it never throws.
 */
export async function storingDefinitions<T>(store: Store, knex: Knex, migrations: Migration[], work: () => Promise<T>): Promise<T> {
  const doneBefore = new Set<string>()
  try {
    if (await store.has(knex)) for (const r of await store.runs.list(knex)) if (r.state === 'done') doneBefore.add(r.name)
  } catch {
    // The run itself says what is wrong with the database.
  }
  try {
    return await work()
  } finally {
    for (const m of migrations.filter((x) => !doneBefore.has(x.name))) {
      const text = encodeDefinition(definitionOf(m))
      await store.runs.update(knex, m.name, { definition: text }, { definition: null }).catch(() => false)
    }
  }
}
