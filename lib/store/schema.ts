import { randomBytes } from 'node:crypto'
import type { Knex } from 'knex'

export const TABLES = {
  meta: 'evolve_meta',
  runs: 'evolve_runs',
  batches: 'evolve_batches',
  failures: 'evolve_failures',
  workers: 'evolve_workers',
  control: 'evolve_control',
  readOnly: 'evolve_read_only',
  readOnlyAudit: 'evolve_read_only_audit',
  readOnlyBypass: 'evolve_read_only_bypass',
  snapshots: 'evolve_snapshots',
} as const

type Step = (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder

// Append-only: each entry upgrades the tracking tables by one version.
const MIGRATIONS: Step[] = [
  (schema) =>
    schema
      .createTable(TABLES.runs, (t) => {
        t.string('name', 255).primary()
        t.string('state', 16).notNullable()
        t.text('description')
        t.string('phase', 16).notNullable().defaultTo('scan')
        t.text('cursor') // JSON-encoded last key handed out, null = start of table
        t.boolean('scan_done').notNullable().defaultTo(false)
        t.integer('sweep_pass').notNullable().defaultTo(0)
        t.bigInteger('total_estimate')
        t.integer('batch_size').notNullable()
        t.text('last_error')
        t.bigInteger('created_at').notNullable()
        t.bigInteger('started_at')
        t.bigInteger('finished_at')
        t.bigInteger('updated_at').notNullable()
      })
      .createTable(TABLES.batches, (t) => {
        t.increments('id').primary()
        t.string('run_name', 255).notNullable()
        t.string('phase', 16).notNullable()
        t.text('lo') // exclusive lower bound (JSON), null = open
        t.text('hi') // inclusive upper bound (JSON)
        t.text('keys') // explicit key list (JSON array) instead of a range
        t.string('state', 16).notNullable() // pending | claimed | done | split | failed
        t.string('owner', 64)
        t.integer('attempts').notNullable().defaultTo(0)
        t.integer('retries').notNullable().defaultTo(0)
        t.integer('rows').notNullable().defaultTo(0)
        t.integer('duration_ms')
        t.text('error')
        t.bigInteger('created_at').notNullable()
        t.bigInteger('claimed_at')
        t.bigInteger('finished_at')
        t.index(['run_name', 'state'])
      })
      .createTable(TABLES.failures, (t) => {
        t.string('run_name', 255).notNullable()
        t.text('key').notNullable() // JSON-encoded key
        t.text('error').notNullable()
        t.integer('attempts').notNullable()
        t.bigInteger('created_at').notNullable()
        t.bigInteger('updated_at').notNullable()
        t.primary(['run_name', 'key'])
      })
      .createTable(TABLES.workers, (t) => {
        t.string('id', 64).primary()
        t.string('host', 255).notNullable()
        t.integer('pid').notNullable()
        t.bigInteger('started_at').notNullable()
        t.bigInteger('heartbeat_at').notNullable()
        t.bigInteger('stopped_at')
      }),
  (schema) =>
    schema
      .alterTable(TABLES.runs, (t) => {
        t.text('throttle_reason') // why workers are holding back right now, null = not throttled
        t.bigInteger('throttled_at')
      })
      .alterTable(TABLES.workers, (t) => {
        t.string('run_name', 255)
      })
      .createTable(TABLES.control, (t) => {
        // Process-wide switches and figures shared by every worker on every machine.
        t.string('key', 64).primary()
        t.text('value')
        t.bigInteger('updated_at').notNullable()
      }),
  (schema) =>
    schema.alterTable(TABLES.batches, (t) => {
      t.integer('planned') // keys a new range was planned with: what a rate limit counts before it is done
    }),
  (schema) =>
    schema.alterTable(TABLES.runs, (t) => {
      t.string('changed_by', 255) // who made the last state change: user@host, API token name or runner id
      t.text('change_reason')
    }),
  (schema) =>
    schema
      .createTable(TABLES.readOnly, (t) => {
        // One row (id 1): the read-only switch every process reads. Times are the database's clock.
        t.integer('id').primary()
        t.boolean('enabled').notNullable()
        t.text('message')
        t.text('tables') // JSON array, null = every user table
        t.bigInteger('since')
        t.string('by', 255)
        t.bigInteger('expires_at')
        // The runner's bypass proves itself with this; an app connection never sets it by accident.
        t.string('token', 64).notNullable()
      })
      .createTable(TABLES.readOnlyAudit, (t) => {
        t.increments('id').primary()
        t.bigInteger('at').notNullable()
        t.string('by', 255).notNullable()
        t.string('action', 16).notNullable() // on | off | expired
        t.text('detail') // JSON: message, tables, expiresAt
      })
      .createTable(TABLES.readOnlyBypass, (t) => {
        // SQLite: a row here, inserted and deleted inside the runner's own transaction, lets its writes through.
        t.string('token', 64).notNullable()
      })
      .raw(`INSERT INTO ${TABLES.readOnly} (id, enabled, token) VALUES (1, false, '${randomBytes(16).toString('hex')}')`),
  (schema) =>
    schema.createTable(TABLES.snapshots, (t) => {
      // One snapshot-and-swap per run: which step it is at, and the tables it made.
      t.increments('id').primary()
      t.string('run_name', 255).notNullable().unique()
      t.string('table_name', 255).notNullable()
      t.string('shadow_name', 255).notNullable()
      t.string('backup_name', 255).notNullable()
      t.string('step', 16).notNullable() // see SNAPSHOT_STEPS in lib/core/snapshot/names.ts
      t.text('cursor') // JSON: the last key copied into the shadow, committed with the rows
      t.bigInteger('copied').notNullable().defaultTo(0)
      t.bigInteger('total')
      t.bigInteger('read_only_at') // the read-only window, by the database's clock
      t.bigInteger('read_write_at')
      t.bigInteger('swapped_at')
      t.text('swap_marker') // what revert compares to tell whether the live table was written since the swap
      t.text('error')
      t.bigInteger('created_at').notNullable()
      t.bigInteger('updated_at').notNullable()
    }),
  (schema) =>
    schema.alterTable(TABLES.runs, (t) => {
      t.bigInteger('pending_at_end') // rows a failed run left pending, as finalize counted them: status shows them remaining
    }),
  (schema) =>
    schema.alterTable(TABLES.runs, (t) => {
      t.bigInteger('active_ms') // the time an ended run's batches ran, for its rate: counted once, when it ends
    }),
  (schema) =>
    schema.alterTable(TABLES.batches, (t) => {
      // A rate limit's window (every claim) and the current rate (every status): a long run has 100,000s of batches.
      t.index(['run_name', 'claimed_at'])
      t.index(['run_name', 'finished_at'])
    }),
  (schema) =>
    schema.alterTable(TABLES.runs, (t) => {
      // What the run was opened with (lib/core/definition.ts, JSON): table, key, mode and a hash of the file's code.
      // Null on runs an older version opened: unknown, recorded at their next open.
      t.text('definition')
      t.bigInteger('code_changed_at') // when the run last went on with changed code: rows evolved before used the old
    }),
]

/** The tracking tables' version this evolvekit writes: its newest upgrade step (`evolve --version` shows it). */
export const SCHEMA_VERSION = MIGRATIONS.length

/**
 * True when the tracking tables exist (read-only commands must not create them). Asks for
 * the runs table, which the first upgrade step creates in one transaction with the others:
 * evolve_meta alone exists for a moment while another process is creating them.
 */
export async function hasSchema(knex: Knex): Promise<boolean> {
  return knex.schema.hasTable(TABLES.runs)
}

/**
 * Creates or upgrades the tracking tables (to the latest version, or `upTo` for tests of upgrades). Safe when several processes start at
 * once: the loser of a race sees "already exists", re-reads the version and moves on.
 */
export async function ensureSchema(knex: Knex, upTo = MIGRATIONS.length): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await upgrade(knex, upTo)
      return
    } catch (err) {
      if (attempt >= 3) throw err
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200))
    }
  }
}

async function upgrade(knex: Knex, upTo: number): Promise<void> {
  if (!(await knex.schema.hasTable(TABLES.meta))) {
    await knex.transaction(async (trx) => {
      await trx.schema.createTable(TABLES.meta, (t) => {
        t.string('key', 64).primary()
        t.text('value').notNullable()
      })
      await trx(TABLES.meta).insert({ key: 'schema_version', value: '0' })
    })
  }
  const current = Number((await knex(TABLES.meta).where({ key: 'schema_version' }).first())?.value ?? 0)
  for (let version = current; version < upTo; version++) {
    await knex.transaction(async (trx) => {
      // The version row doubles as a lock: a concurrent upgrader blocks here, then finds 0 rows.
      const claimed = await trx(TABLES.meta)
        .where({ key: 'schema_version', value: String(version) })
        .update({ value: String(version + 1) })
      if (claimed === 1) await MIGRATIONS[version]!(trx.schema)
    })
  }
}
