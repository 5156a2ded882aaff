/**
 * The local *source* database: the cluster that plays production. It archives every WAL segment
 * into the state folder (that archive is what restores replay), is provisioned once (the example
 * app's schema and seed by default, or your app's own migrate and seed commands), and runs a
 * writer beside it (the example's trickle writer, or your `trafficCommand`) so that RPO is
 * measured against live traffic. It keeps running after the CLI that started it has exited.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { archiveCommand } from './archive.ts';
import { makePassageDir, makeServerDir, serverUser } from './binaries.ts';
import {
  attachCluster,
  freePort,
  initCluster,
  randomPassword,
  type StartedCluster,
  startCluster,
  stopServer,
} from './cluster.ts';
import { PROJECT_ROOT } from './detached.ts';
import { stopHeartbeatProcess } from './heartbeat-process.ts';
import { sourceLockFile, withLock } from './lock.ts';
import { notPostmasterOf, ownedPostmaster, readPostmasterPid } from './processes.ts';
import { repositoriesOf } from './repositories.ts';
import { startHeartbeat, startTrickle, stopTrickle, trickleRunning } from './source-companions.ts';
import { checkOrigin, originOf } from './source-origin.ts';
import { defaultProvisioner, provisionByCommands } from './source-provision.ts';
import { registerProcess, type StatePaths, unregisterProcess } from './state.ts';
import { readJson, writeJson } from './state-json.ts';

/** The repository root: where `node --import tsx` resolves tsx from. */
export { PROJECT_ROOT };

/** Secrets of the local source (file mode 0600). */
export interface SourceCredentials {
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Password of the example app's `admin` user: the drill's login check needs it. */
  readonly adminPassword: string;
}

/** Where the source's schema and data came from (a record without it predates the field: the example). */
export type SourceOrigin =
  | { readonly kind: 'example' }
  | {
      readonly kind: 'app';
      readonly repoPath: string;
      readonly migrateCommand: string;
      readonly seedCommand: string;
    };

/** What is known about the source (no secrets). */
export interface SourceRecord {
  readonly port: number;
  readonly pid: number | null;
  readonly database: string;
  readonly createdAt: string;
  readonly provisionedAt: string | null;
  /** A writer runs beside the source (the example's trickle writer or the app's `trafficCommand`). */
  readonly trickle: boolean;
  readonly origin?: SourceOrigin;
}

/**
 * A source provisioned by the app's own commands (config `local.source` of kind `app`): an empty
 * database, then `migrateCommand`, then `seedCommand`, both run to their end in `repoPath`; then
 * `trafficCommand`, if any, kept running beside the source.
 */
export interface AppSourceSpec {
  /** The app checkout (absolute): every command runs there. */
  readonly repoPath: string;
  readonly migrateCommand: string;
  readonly seedCommand: string;
  readonly trafficCommand: string | null;
  /** `app.env` with `local.source.env` over it. */
  readonly env: Readonly<Record<string, string>>;
  /** The admin the seed creates (`smoke.adminUsername`) and the variables it reads it from. */
  readonly adminUsername: string;
  readonly adminUsernameEnv: string;
  readonly adminPasswordEnv: string;
}

/** Provisions a fresh source database (schema + seed). */
export type Provisioner = (databaseUrl: string, options: { adminPassword: string }) => Promise<unknown>;

export interface SourceOptions {
  /** Default: the example app's `provisionSource`. */
  readonly provision?: Provisioner;
  /** Provision with the app's own commands instead of a provisioner function. */
  readonly app?: AppSourceSpec;
  /** Start the writer beside the source (the trickle writer, or the app's `trafficCommand` if it has one). Default true. */
  readonly trickle?: boolean;
  /** The application database. Default `btcts` (as the example app's `.env.example`). */
  readonly database?: string;
  readonly archiveTimeoutSeconds: number;
  /** Told when another command holds the source's lock and this one waits for it. */
  readonly notice?: (line: string) => void;
  /**
   * The heartbeat written beside the source (config `heartbeat.schema`, `heartbeat.retentionDays`):
   * after a restore its newest row proves by data how far the copy reaches. Default: the config's defaults.
   */
  readonly heartbeat?: { readonly schema: string; readonly retentionDays: number };
}

export const DEFAULT_DATABASE = 'btcts';

/**
 * What to do about a damaged source record: without it `local source start` takes the source for
 * half made and provisions a new one, removing the old one's data and archived WAL.
 */
const SOURCE_ADVICE =
  'put back a good copy of it; do not just remove it: `local source start` would then provision a new source and remove the old one with its archived WAL (backups without it cannot be restored)';

export function readSourceRecord(paths: StatePaths): Promise<SourceRecord | null> {
  return readJson<SourceRecord>(paths.sourceRecord, SOURCE_ADVICE);
}

export function readCredentials(paths: StatePaths): Promise<SourceCredentials | null> {
  return readJson<SourceCredentials>(paths.credentials, SOURCE_ADVICE);
}

/**
 * The running source, or null. Stale records are ignored: a `postmaster.pid` left by a crash
 * whose pid now belongs to another process is not the source (see `notPostmasterOf`).
 */
export async function runningSource(paths: StatePaths): Promise<StartedCluster | null> {
  const record = await readSourceRecord(paths);
  const credentials = await readCredentials(paths);
  if (!record || !credentials) return null;
  const pidFile = ownedPostmaster(paths.sourceData);
  if (!pidFile) return null;
  return attachCluster({
    dataDir: paths.sourceData,
    port: pidFile.port,
    pid: pidFile.pid,
    password: credentials.password,
  });
}

/** Connection URL of the source (its application database by default). Holds the password: never log it. */
export async function sourceUrl(paths: StatePaths, database?: string): Promise<string | null> {
  const cluster = await runningSource(paths);
  const credentials = await readCredentials(paths);
  if (!cluster || !credentials) return null;
  return cluster.url(database ?? credentials.database);
}

/** Into the primary archive, then the isolated copy's (see `archiveCommand`). */
function sourceArchiveCommand(paths: StatePaths): string {
  return archiveCommand(paths.primary.walArchive, ...(paths.isolated ? [paths.isolated.walArchive] : []));
}

/**
 * The isolated copy's folders, made before the source archives into them (also for a source made
 * before the copy existed, or after the copy's folder was lost: it starts again from the next segment).
 */
async function makeIsolatedCopy(paths: StatePaths, user: Awaited<ReturnType<typeof serverUser>>) {
  if (!paths.isolated) return;
  await makePassageDir(paths.isolated.dir);
  await makeServerDir(paths.isolated.walArchive, user);
}

function sourceSettings(paths: StatePaths, archiveTimeoutSeconds: number): Record<string, string> {
  return {
    wal_level: 'replica',
    archive_mode: 'on',
    archive_command: sourceArchiveCommand(paths),
    archive_timeout: `${archiveTimeoutSeconds}s`,
    // pg_last_committed_xact(): a backup records the newest commit it contains.
    track_commit_timestamp: 'on',
  };
}

async function createSource(paths: StatePaths, options: SourceOptions): Promise<StartedCluster> {
  const user = await serverUser();
  const password = randomPassword();
  const database = options.database ?? DEFAULT_DATABASE;
  const credentials: SourceCredentials = {
    user: 'postgres',
    password,
    database,
    adminPassword: randomPassword().slice(0, 20),
  };
  await makePassageDir(paths.root);
  await makePassageDir(paths.sourceDir);
  await makeServerDir(paths.walArchive, user);
  await makeIsolatedCopy(paths, user);
  await writeJson(paths.credentials, credentials, 0o600);
  await initCluster({
    dataDir: paths.sourceData,
    password,
    settings: sourceSettings(paths, options.archiveTimeoutSeconds),
  });
  const port = await freePort();
  const record: SourceRecord = {
    port,
    pid: null,
    database,
    createdAt: new Date().toISOString(),
    provisionedAt: null,
    trickle: wantsTrickle(options),
    origin: originOf(options),
  };
  await writeJson(paths.sourceRecord, record);
  const cluster = await launch(paths, record, password, options.archiveTimeoutSeconds, options.notice);
  const admin = new pg.Client({ connectionString: cluster.url('postgres') });
  await admin.connect();
  try {
    await admin.query(`create database ${pg.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }
  if (options.app) {
    await provisionByCommands(paths, options.app, cluster.url(database), credentials.adminPassword);
  } else {
    const provision = options.provision ?? (await defaultProvisioner());
    await provision(cluster.url(database), { adminPassword: credentials.adminPassword });
  }
  await writeJson(paths.sourceRecord, {
    ...record,
    pid: cluster.pid,
    provisionedAt: new Date().toISOString(),
  });
  return cluster;
}

/**
 * Removes a `postmaster.pid` that no server of ours holds (a crash left it and its pid may now be
 * a stranger's): PostgreSQL would refuse to start while that pid lives. Nothing is signalled.
 */
async function clearStalePidFile(dataDir: string, notice?: (line: string) => void): Promise<void> {
  const file = readPostmasterPid(dataDir);
  if (!file) return;
  const why = notPostmasterOf(file.pid, dataDir);
  if (why === null) return;
  await rm(join(dataDir, 'postmaster.pid'), { force: true });
  notice?.(`stale ${join(dataDir, 'postmaster.pid')} removed, not signalled: ${why}`);
}

async function launch(
  paths: StatePaths,
  record: SourceRecord,
  password: string,
  archiveTimeoutSeconds: number,
  notice?: (line: string) => void,
): Promise<StartedCluster> {
  await clearStalePidFile(paths.sourceData, notice);
  let cluster: StartedCluster;
  await makeIsolatedCopy(paths, await serverUser());
  // The archive command of this configuration on every start: a source made before the isolated
  // copy existed (or with another local.isolatedDir) archives into the configured copy from now on.
  const settings = {
    archive_timeout: `${archiveTimeoutSeconds}s`,
    archive_command: sourceArchiveCommand(paths),
  };
  try {
    cluster = await startCluster({
      dataDir: paths.sourceData,
      password,
      port: record.port,
      logFile: paths.sourceLog,
      settings,
    });
  } catch {
    // The recorded port may have been taken while the source was down: take another.
    cluster = await startCluster({ dataDir: paths.sourceData, password, logFile: paths.sourceLog, settings });
  }
  await registerProcess(paths, {
    kind: 'source',
    id: 'source',
    pid: cluster.pid,
    dataDir: paths.sourceData,
    port: cluster.port,
    marker: null,
  });
  await writeJson(paths.sourceRecord, { ...record, port: cluster.port, pid: cluster.pid });
  return cluster;
}

export interface SourceStartResult {
  readonly cluster: StartedCluster;
  readonly created: boolean;
  readonly alreadyRunning: boolean;
}

function wantsTrickle(options: SourceOptions): boolean {
  if (options.trickle === false) return false;
  return options.app ? options.app.trafficCommand !== null : true;
}

/** What the source lock's waiter is told: who holds it and since when. */
function waitNotice(notice: ((line: string) => void) | undefined) {
  return (owner: { pid: number; what: string; acquiredAt: string }) =>
    notice?.(
      `waiting for pid ${owner.pid} (${owner.what}, since ${owner.acquiredAt}) to finish with the source`,
    );
}

/**
 * Starts the source, creating and provisioning it first if there is none. Idempotent, and safe to
 * call from two commands at once: under the state folder's source lock, the second finds the
 * source (and its one writer of each kind) the first made.
 */
export function startSource(paths: StatePaths, options: SourceOptions): Promise<SourceStartResult> {
  return withLock(sourceLockFile(paths), 'local source start', () => startSourceLocked(paths, options), {
    onWait: waitNotice(options.notice),
  });
}

async function startSourceLocked(paths: StatePaths, options: SourceOptions): Promise<SourceStartResult> {
  let running = await runningSource(paths);
  const record = await readSourceRecord(paths);
  if (record?.provisionedAt) checkOrigin(paths, record, options);
  if (running && record?.provisionedAt === null) {
    // Interrupted while being provisioned: stop it; it is made again below.
    await stopTrickle(paths);
    await stopHeartbeatProcess(paths);
    await running.stop();
    running = null;
  }
  if (running && record) {
    if (record.trickle && !(await trickleRunning(paths)))
      await startTrickle(paths, running.url(record.database), options.app);
    await startHeartbeat(paths, running.url(record.database), options);
    return { cluster: running, created: false, alreadyRunning: true };
  }
  const credentials = await readCredentials(paths);
  if (!record || !credentials || record.provisionedAt === null || !existsSync(paths.sourceData)) {
    // Nothing, or a half-made source (a crash or a failed command during creation): start over.
    await rm(paths.sourceDir, { recursive: true, force: true });
    // A new cluster's segments take the old names again: neither archive may keep the old ones.
    for (const { repository } of repositoriesOf(paths)) {
      await rm(repository.walArchive, { recursive: true, force: true });
      await rm(repository.walIndex, { force: true });
    }
    let cluster: StartedCluster | null = null;
    try {
      cluster = await createSource(paths, options);
    } catch (error) {
      const pid = readPostmasterPid(paths.sourceData)?.pid;
      if (pid) await stopServer(pid, paths.sourceData);
      await unregisterProcess(paths, 'source', 'source');
      throw error;
    }
    const url = cluster.url(options.database ?? DEFAULT_DATABASE);
    if (wantsTrickle(options)) await startTrickle(paths, url, options.app);
    await startHeartbeat(paths, url, options);
    return { cluster, created: true, alreadyRunning: false };
  }
  const cluster = await launch(
    paths,
    record,
    credentials.password,
    options.archiveTimeoutSeconds,
    options.notice,
  );
  if (record.trickle) await startTrickle(paths, cluster.url(record.database), options.app);
  await startHeartbeat(paths, cluster.url(record.database), options);
  return { cluster, created: false, alreadyRunning: false };
}

/**
 * Stops the trickle writer, then the source (fast shutdown: segments already complete are archived
 * on the way down), under the source lock. A stale `postmaster.pid` is not the source: nothing is
 * signalled and the answer is false.
 */
export function stopSource(
  paths: StatePaths,
  options: { notice?: (line: string) => void } = {},
): Promise<boolean> {
  return withLock(sourceLockFile(paths), 'local source stop', () => stopSourceLocked(paths), {
    onWait: waitNotice(options.notice),
  });
}

async function stopSourceLocked(paths: StatePaths): Promise<boolean> {
  await stopTrickle(paths);
  await stopHeartbeatProcess(paths);
  const running = await runningSource(paths);
  if (running) await running.stop();
  await unregisterProcess(paths, 'source', 'source');
  const record = await readSourceRecord(paths);
  if (record) await writeJson(paths.sourceRecord, { ...record, pid: null });
  return running !== null;
}
