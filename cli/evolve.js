#!/usr/bin/env node
// The CLI is TypeScript run as-is: tsx compiles on load, so there is no build step.
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')
