// Rows a transform changed, grouped by the columns they change: one UPDATE per group (lib/dialects/group-by-columns.ts).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { groupByColumns } from '../../lib/dialects/group-by-columns.ts'

const row = (key: number, changes: Record<string, unknown>) => ({ key, changes })

describe('grouping changed rows by their columns', () => {
  it('puts rows that change the same columns together, whatever the order of their keys, and skips empty changes', () => {
    const rows = [
      row(1, { a: 1, b: 2 }),
      row(2, { a: 3, b: 4 }),
      row(3, { b: 5, a: 6 }),
      row(4, { c: 7 }),
      row(5, {}),
      row(6, { a: 8, b: 9 }),
      row(7, { a: 1 }),
    ]
    const groups = [...groupByColumns(rows)].map(([columns, group]) => [columns, group.map((r) => r.key)])
    assert.deepEqual(groups, [
      [
        ['a', 'b'],
        [1, 2, 3, 6],
      ],
      [['c'], [4]],
      [['a'], [7]],
    ])
  })
})
