// What a migration file's hash (lib/core/source-hash.ts) sees: an edit of its code, not of its
// comments, line endings or layout. No database.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { changeOf, definitionOf } from '../../lib/core/definition.ts'
import { sourceHash } from '../../lib/core/source-hash.ts'
import { createMigration } from '../../lib/index.ts'

const FILE = `// Tiers as single letters.
import { defineMigration } from 'evolvekit'

/* the codes the app reads */
const CODES = { gold: 'G', basic: 'B' } // see app/tiers.ts
export default defineMigration({
  table: 'users',
  pending: (q) => q.whereRaw("tier not like '%//%'"),
  transform: (row) => ({ tier: CODES[row.tier], note: \`id \${row.id} /* kept */\`, ok: /\\/\\/'/.test(row.x) ? 1 : 2 / 3 }),
})
`

describe('the hash of a migration file', () => {
  it('stays the same through CRLF line endings, a byte-order mark, re-indentation, blank lines and edited comments', () => {
    const resaved = `\uFEFF${FILE.replace('// see app/tiers.ts', '// the app reads these (app/tiers.ts)')
      .replace('/* the codes the app reads */', '')
      .replace("  table: 'users',", "\t\ttable:   'users',   \n\n")}`.replace(/\n/g, '\r\n')
    assert.equal(sourceHash(resaved), sourceHash(FILE))
  })

  it('changes with the code: a constant the transform uses, a string, a template or a regular expression', () => {
    for (const [from, to] of [
      ["gold: 'G'", "gold: 'GOLD'"],
      ["'%//%'", "'%// %'"],
      ['/* kept */', '/* also kept */'],
      ["/\\/\\/'/", '/\\/\\/"/'],
    ]) {
      assert.ok(FILE.includes(from!), from)
      assert.notEqual(sourceHash(FILE.replace(from!, to!)), sourceHash(FILE), `${from} → ${to}`)
    }
  })
})

describe('what a run was opened with', () => {
  const lower = createMigration('x', { table: 'users', transform: (row) => ({ email: String(row.email).toLowerCase() }) })

  it('names a changed table, key or mode, and a change of code alone as such', () => {
    const now = (m = lower) => definitionOf(m)
    const other = createMigration('x', { table: 'accounts', key: ['tenant', 'id'], set: { email: (k) => k.raw('lower(email)') } })
    assert.deepEqual(changeOf(now(), now(other))?.structural, ['table users → accounts', 'key id → tenant, id', 'mode transform → set'])
    const upper = createMigration('x', { table: 'users', transform: (row) => ({ email: String(row.email).toUpperCase() }) })
    assert.deepEqual(changeOf(now(), now(upper)), { structural: [], code: true })
    const readOnly = createMigration('x', { table: 'users', mode: 'readonly', transform: lower.transform! })
    assert.deepEqual(changeOf(now(), now(readOnly))?.structural, ['mode transform → transform (readonly)'])
    assert.equal(changeOf(now(), now()), null)
    assert.equal(changeOf(null, now(upper)), null, 'a run opened by an older version is unknown: no change is said')
  })
})
