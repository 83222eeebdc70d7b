// Scenario 5: snapshot mode (evolve from a consistent snapshot, then catch up) does not exist yet.
export interface SnapshotResult {
  status: 'not implemented yet'
}

export async function snapshot(): Promise<SnapshotResult> {
  return { status: 'not implemented yet' }
}
