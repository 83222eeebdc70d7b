// A real terminal for the tests of what draws on one (`evolve ui`, live progress): tmux sessions
// driven with send-keys and read with capture-pane.
import { execFileSync, spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'

export const hasTmux = spawnSync('tmux', ['-V']).status === 0

export function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' })
}

/** Polls the screen of `session` until `test` holds; fails after a minute with the last screen. */
export async function screen(session: string, test: (s: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const s = tmux('capture-pane', '-p', '-t', session)
    if (test(s)) return s
    if (Date.now() > deadline) throw new Error(`screen never showed ${what}:\n${s}`)
    await sleep(50)
  }
}

/** Starts `command` (a shell line) in a new detached session of `cols` × `rows`, in `cwd`. */
export function startSession(session: string, cwd: string, command: string, cols = 120, rows = 40): void {
  tmux('new-session', '-d', '-s', session, '-x', String(cols), '-y', String(rows), '-c', cwd, command)
}
