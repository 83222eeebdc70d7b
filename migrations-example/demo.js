// Entry for `npm run demo`: runs demo.ts with no build step.
import { register } from 'tsx/esm/api'

register()
await import('./demo.ts')
