// Entry of the app's child process: runs traffic-main.ts with no build step.
import { register } from 'tsx/esm/api'

register()
await import('./traffic-main.ts')
