import type { RowChange } from './dialect.ts'

/** Rows that change the same columns can share one UPDATE statement. */
export function groupByColumns(rows: RowChange[]): Map<string[], RowChange[]> {
  const byKey = new Map<string, { columns: string[]; rows: RowChange[] }>()
  for (const row of rows) {
    const columns = Object.keys(row.changes).sort()
    if (columns.length === 0) continue
    const id = JSON.stringify(columns)
    const entry = byKey.get(id) ?? { columns, rows: [] }
    entry.rows.push(row)
    byKey.set(id, entry)
  }
  return new Map([...byKey.values()].map((e) => [e.columns, e.rows]))
}
