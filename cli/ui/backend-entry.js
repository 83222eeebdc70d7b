// Entry of the UI's database thread: TypeScript loads through tsx here too, as in cli/evolve.js.
import { register } from 'tsx/esm/api'

register()
await import('./backend-thread.ts')
