#!/usr/bin/env node
// The published `evolve` command: package.json's bin is this file compiled (dist/cli/bin.js), plain
// JavaScript that needs neither tsx nor a build at the user's end. In the repo, cli/evolve.js runs
// the same main.ts from source through tsx, so tests, the demo and the bench need no build step.
import './main.ts'
