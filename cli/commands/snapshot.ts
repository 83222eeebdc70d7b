import type { Command } from 'commander'
import type { SnapshotPreflight } from '../../lib/index.ts'
import { type GlobalOptions, withEvolve } from '../context.ts'

/** `evolve revert` and `evolve cleanup`: what a snapshot-mode run kept after its swap. */
export function registerSnapshot(program: Command): void {
  program
    .command('revert')
    .description('snapshot mode: swap the backup back in (refused when the table was written since the swap, unless --force)')
    .argument('<name>', 'migration name')
    .option('--force', 'revert even though the table was written since the swap: those writes are lost')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { force?: boolean }>()
      await withEvolve(opts, async (evolve) => {
        const r = await evolve.revert(name, { force: opts.force })
        if (r.lost) console.log(`${name}: writes lost by --force: ${r.lost}`)
        console.log(
          `${name}: reverted; ${r.table} holds its rows from before the swap; the evolved table is kept as ${r.kept} until \`evolve cleanup ${name}\``,
        )
      })
    })
  program
    .command('cleanup')
    .description('snapshot mode: drop the backup kept after the swap (no revert after this), or the evolved table kept by a revert')
    .argument('<name>', 'migration name')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>()
      await withEvolve(opts, async (evolve) => {
        const r = await evolve.cleanup(name)
        console.log(`${name}: dropped ${r.dropped}`)
      })
    })
}

/** The snapshot section of `evolve plan`. */
export function printSnapshotPlan(p: SnapshotPreflight): void {
  const disk = p.extraBytes === null ? 'unknown' : `${(p.extraBytes / 1024 / 1024).toFixed(1)} MiB`
  console.log(`  snapshot: extra disk for the copy about ${disk}`)
  for (const o of p.objects) console.log(`    ${o.kind} ${o.name}: ${o.action}`)
  for (const r of p.refused) console.log(`    REFUSED ${r.kind} ${r.name}: ${r.fix}`)
  if (p.refused.length > 0)
    console.log(
      `  snapshot: refused (${p.refused.length}): \`evolve run\` stops on ${p.refused.length === 1 ? 'it' : 'them'} before changing anything`,
    )
}
