// Preloaded into a CLI child by a test (NODE_OPTIONS=--import): appends every package a module
// imports by name to the file EVK_TRACE_PACKAGES names, so the test can see what a command loads.
import { register } from 'node:module'

const hooks = `
import { appendFileSync } from 'node:fs'
let file
export function initialize(data) { file = data }
export async function resolve(specifier, context, next) {
  if (file && !/^(node:|[./]|file:|data:)/.test(specifier)) appendFileSync(file, specifier + '\\n')
  return next(specifier, context)
}`
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: process.env.EVK_TRACE_PACKAGES })
