// The front ends may not import lib/store (the seam): the one number of it they show, `evolve
// --version`, comes through here. lib/store/schema.ts imports no driver, so this loads nothing heavy.
export { SCHEMA_VERSION as TRACKING_SCHEMA_VERSION } from '../store/schema.ts'
