// `npm run build`: lib/ and cli/ to dist/ with tsc, then the one thing tsc leaves undone.
// tsc rewrites the sources' relative `.ts` imports to `.js` in the JavaScript it emits, but not
// in the declarations: dist/**/*.d.ts would name `./x.ts`, files the package does not ship, and
// a consumer's TypeScript then resolves nothing (or only with settings of ours). So they are
// rewritten here to `.js`, which TypeScript maps to the `.d.ts` beside it.
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const dist = 'dist'
rmSync(dist, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' })

const relativeTs = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+?)\.tsx?(['"])/g
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue
  const file = path.join(entry.parentPath, entry.name)
  const text = readFileSync(file, 'utf8')
  const fixed = text.replace(relativeTs, '$1$2.js$3')
  if (fixed !== text) writeFileSync(file, fixed)
}
