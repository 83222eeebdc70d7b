import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import type { Command } from 'commander'
import { defaultActor } from '../../lib/api/actor.ts'
import { openEvolveFromCli } from '../../lib/api/open-evolve.ts'
import { usage } from '../../lib/errors.ts'
import type { ApiToken } from '../../lib/http/index.ts'
import type { GlobalOptions } from '../context.ts'
import { portNumber } from '../parse.ts'

interface ServeOptions extends GlobalOptions {
  host: string
  port: number
  tokenFile: string[]
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('the admin HTTP API: status, pause/resume/cancel, retry, read-only, events, metrics')
    .option('--host <host>', 'address to listen on (anything but loopback exposes the API to the network)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', portNumber('--port'), 7070)
    .option(
      '--token-file <file>',
      'bearer tokens, one name:token a line; repeat it to merge files (default: EVOLVE_API_TOKEN, acting as "api")',
      (file: string, files: string[]) => [...files, file],
      [] as string[],
    )
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ServeOptions>()
      // Loaded here: Fastify costs every other command ~100 ms and ~20 MB.
      const { createAdminApi } = await import('../../lib/http/index.ts')
      const port = opts.port
      // Tokens first: without one nothing opens, not even the database.
      const tokens = await loadTokens(opts.tokenFile)
      if (!isLoopback(opts.host)) {
        process.stderr.write(
          `evolve: WARNING: the admin API listens on ${opts.host}, reachable from the network. Anyone with a token can pause runs and switch read-only; put TLS in front of it.\n`,
        )
      }
      const evolve = await openEvolveFromCli({ db: opts.db, config: opts.config, dir: opts.dir, by: defaultActor() })
      const app = await createAdminApi({ evolve, tokens })
      // Listen for the signals before the port opens: a SIGTERM right after must still close cleanly.
      const signalled = untilSignal()
      try {
        await app.listen({ host: opts.host, port })
      } catch (err) {
        await evolve.close()
        throw usage('E_LISTEN', `cannot listen on ${opts.host}:${port}: ${(err as Error).message}`)
      }
      const address = app.server.address()
      const bound = typeof address === 'object' && address ? address.port : port
      const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host
      process.stderr.write(`evolve: admin API listening on http://${host}:${bound} (tokens: ${tokens.map((t) => t.name).join(', ')})\n`)
      await signalled
      // Stop accepting, let in-flight requests finish, end event streams, then close the database.
      await app.close()
      await evolve.close()
      process.stderr.write('evolve: admin API stopped\n')
    })
}

/** The tokens of every --token-file, merged (a name or a token in two files is refused), else EVOLVE_API_TOKEN's. */
async function loadTokens(files: string[]): Promise<ApiToken[]> {
  const { checkTokens, parseTokenFile, tokensFromEnv } = await import('../../lib/http/auth.ts')
  if (files.length === 0) return checkTokens(tokensFromEnv(process.env), 'EVOLVE_API_TOKEN')
  const tokens: ApiToken[] = []
  for (const file of files) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw usage('E_API_TOKEN', `cannot read --token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    tokens.push(...parseTokenFile(text, `--token-file ${file}`))
  }
  return files.length === 1 ? tokens : checkTokens(tokens, `--token-file ${files.join(' and ')}`)
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1'
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on).off('SIGTERM', on)
      resolve(signal)
    }
    process.on('SIGINT', on).on('SIGTERM', on)
  })
}
