#!/usr/bin/env node
// The repo's `evolve`: runs the TypeScript sources as they are (tsx compiles on load), so tests,
// `npm run demo` and `npm run bench` need no build step and never run a stale dist/. The
// published package's bin is the compiled cli/bin.ts (dist/cli/bin.js), which needs no tsx.
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')
