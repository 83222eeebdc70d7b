import type { RowChange } from './dialect.ts'

/** Rows that change the same columns can share one UPDATE statement. */
export function groupByColumns(rows: RowChange[]): Map<string[], RowChange[]> {
  const byKey = new Map<string, { columns: string[]; rows: RowChange[] }>()
  // Nearly every transform returns the same shape for every row: a row whose keys come in the same
  // order as the row before joins its group without sorting and naming its columns again.
  let last: { names: string[]; entry: { columns: string[]; rows: RowChange[] } } | undefined
  for (const row of rows) {
    const names = Object.keys(row.changes)
    if (names.length === 0) continue
    if (last && sameNames(names, last.names)) {
      last.entry.rows.push(row)
      continue
    }
    const columns = [...names].sort()
    const id = JSON.stringify(columns)
    const entry = byKey.get(id) ?? { columns, rows: [] }
    entry.rows.push(row)
    byKey.set(id, entry)
    last = { names, entry }
  }
  return new Map([...byKey.values()].map((e) => [e.columns, e.rows]))
}

function sameNames(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
