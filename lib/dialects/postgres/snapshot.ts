import type { SnapshotDdl } from '../snapshot-ddl.ts'
import { postgresBuildShadow, postgresCopyColumns, postgresCreateShadow } from './snapshot-build.ts'
import { postgresNotOwned } from './snapshot-owner.ts'
import { postgresPreflight } from './snapshot-preflight.ts'
import { postgresAfterSwap, postgresDropTable, postgresSwap, postgresWrittenSince } from './snapshot-swap.ts'

export const postgresSnapshot: SnapshotDdl = {
  preflight: postgresPreflight,
  createShadow: postgresCreateShadow,
  copyColumns: postgresCopyColumns,
  buildShadow: postgresBuildShadow,
  swap: postgresSwap,
  afterSwap: postgresAfterSwap,
  writtenSince: postgresWrittenSince,
  dropTable: postgresDropTable,
  // Row versions tell PostgreSQL what was written since the swap: no triggers to drop.
  dropCounter: async () => {},
  notOwned: postgresNotOwned,
}
