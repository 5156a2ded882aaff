/**
 * Full physical backups of the local source through PostgreSQL's low-level backup API. Each
 * backup carries a manifest of its files with SHA-256 checksums; a restore re-hashes every byte as
 * it copies it (backup-copy.ts) and refuses the backup at the first file that differs, so an
 * altered backup is never started as a database.
 */
import type { Dirent } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { buildManifest } from '../shared/checksums.ts';
import { giveToServer, serverUser } from './binaries.ts';
import type { StatePaths } from './state.ts';
import { DamagedStateError, readJson, writeJson } from './state-json.ts';
import { buildBlockIndex } from './verify.ts';
import { WAL_SEGMENT_NAME } from './wal.ts';

/** What is known about one backup (`backups/<id>/backup.json`). */
export interface BackupRecord {
  readonly id: string;
  readonly tags: Record<string, string>;
  readonly status: 'creating' | 'available' | 'failed';
  /** The process taking the backup while `creating`: a dead owner means the backup failed. */
  readonly ownerPid: number | null;
  readonly startedAt: string;
  /** When `pg_backup_stop` returned: the earliest time a restore from this backup can reach. */
  readonly stoppedAt: string | null;
  readonly startLsn: string | null;
  readonly stopLsn: string | null;
  /** First WAL segment a restore needs from the archive. */
  readonly startWalFile: string | null;
  readonly stopWalFile: string | null;
  /** Newest commit before the backup started: the restore point if no later commit is replayed. */
  readonly lastCommitBeforeStart: string | null;
  readonly sizeBytes: number | null;
  readonly files: number | null;
  readonly failureReason: string | null;
}

export function backupDir(paths: StatePaths, id: string): string {
  return join(paths.backups, id);
}

const recordFile = (paths: StatePaths, id: string) => join(backupDir(paths, id), 'backup.json');
/** The backup's manifest (every file, its size and SHA-256). */
export const manifestFile = (paths: StatePaths, id: string) => join(backupDir(paths, id), 'manifest.json');
/** The backup's block index (large files by their 64 MiB blocks). */
export const blocksFile = (paths: StatePaths, id: string) => join(backupDir(paths, id), 'blocks.json');
/** The backup's copy of the data directory. */
export const dataOf = (paths: StatePaths, id: string) => join(backupDir(paths, id), 'data');

/** Folders whose contents a backup leaves out (as pg_basebackup does): rebuilt or useless on restore. */
const EMPTY_DIRS = new Set([
  'pg_wal',
  'pg_stat_tmp',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_subtrans',
]);
/** Files a backup leaves out, wherever they are. */
const SKIPPED_FILES = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'pg_internal.init',
  'backup_label',
  'tablespace_map',
  'current_logfiles',
]);

async function readdirTolerant(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Copies a live data dir: files that vanish while copying are fine (WAL replay recreates what matters). */
async function copyLiveDataDir(
  source: string,
  target: string,
  relative = '',
  signal?: AbortSignal,
): Promise<void> {
  signal?.throwIfAborted();
  await mkdir(join(target, relative), { recursive: true, mode: 0o700 });
  const entries = await readdirTolerant(join(source, relative));
  const files: string[] = [];
  for (const entry of entries) {
    const rel = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (entry.name.startsWith('pgsql_tmp')) continue;
      if (relative === '' && EMPTY_DIRS.has(entry.name)) {
        await mkdir(join(target, rel), { mode: 0o700 });
        if (entry.name === 'pg_wal') await mkdir(join(target, rel, 'archive_status'), { mode: 0o700 });
        continue;
      }
      await copyLiveDataDir(source, target, rel, signal);
    } else if (entry.isSymbolicLink()) {
      throw new Error(
        `${join(source, rel)} is a symbolic link (a tablespace or a linked pg_wal): the local engine backs up plain data directories only`,
      );
    } else if (entry.isFile() && !SKIPPED_FILES.has(entry.name)) {
      files.push(rel);
    }
  }
  await runLimited(files, 8, async (rel) => {
    signal?.throwIfAborted();
    try {
      await copyFile(join(source, rel), join(target, rel));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  });
}

/** Runs `work` over items, `limit` at a time; on the first failure starts nothing new, waits for what runs, rethrows. */
export async function runLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
}

/**
 * A backup's record; null when there is none.
 * @throws DamagedStateError when `backup.json` is unreadable: the message says the backup is
 *   skipped and what to do about it.
 */
export async function readBackup(paths: StatePaths, id: string): Promise<BackupRecord | null> {
  const record = await readJson<BackupRecord>(
    recordFile(paths, id),
    `backup ${id} is skipped (restores use an older intact backup for the times it covers; pruning waits until it is gone). ` +
      `Look at it, then remove ${backupDir(paths, id)}, or put back a good copy of the file`,
  );
  if (!record) return null;
  if (record.status === 'creating' && record.ownerPid !== null && !isAlive(record.ownerPid)) {
    return { ...record, status: 'failed', failureReason: `interrupted: process ${record.ownerPid} ended` };
  }
  return record;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Every readable backup, oldest first, and every backup whose record is damaged: one damaged
 * `backup.json` takes out that backup only, never the listing.
 */
export async function listBackupsChecked(
  paths: StatePaths,
): Promise<{ backups: BackupRecord[]; damaged: DamagedStateError[] }> {
  const records: BackupRecord[] = [];
  const damaged: DamagedStateError[] = [];
  for (const entry of await readdirTolerant(paths.backups)) {
    if (!entry.isDirectory()) continue;
    try {
      const record = await readBackup(paths, entry.name);
      if (record) records.push(record);
    } catch (error) {
      if (!(error instanceof DamagedStateError)) throw error;
      damaged.push(error);
    }
  }
  return { backups: records.sort((a, b) => a.startedAt.localeCompare(b.startedAt)), damaged };
}

/** Every readable backup, oldest first (a damaged one is skipped: see {@link listBackupsChecked}). */
export async function listBackups(paths: StatePaths): Promise<BackupRecord[]> {
  return (await listBackupsChecked(paths)).backups;
}

export async function deleteBackup(paths: StatePaths, id: string): Promise<void> {
  await rm(backupDir(paths, id), { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

/**
 * Takes a full backup of the running source on ONE session: `pg_backup_start` → copy the data dir
 * (without `postmaster.pid`, with an empty `pg_wal/`) → `pg_backup_stop` (waits until the last
 * WAL segment it needs is archived) → `backup_label` (+ `tablespace_map`) → manifest.
 */
export async function takeBackup(
  paths: StatePaths,
  options: {
    id: string;
    tags: Record<string, string>;
    sourceUrl: string;
    sourceData: string;
    /** How long pg_backup_stop may wait for the archive. Default 300 s. */
    archiveWaitSeconds?: number;
    /** Aborting stops the copy; the backup is then removed. */
    signal?: AbortSignal;
  },
): Promise<BackupRecord> {
  const { id, tags } = options;
  const dir = backupDir(paths, id);
  const data = dataOf(paths, id);
  const startedAt = new Date().toISOString();
  let record: BackupRecord = {
    id,
    tags,
    status: 'creating',
    ownerPid: process.pid,
    startedAt,
    stoppedAt: null,
    startLsn: null,
    stopLsn: null,
    startWalFile: null,
    stopWalFile: null,
    lastCommitBeforeStart: null,
    sizeBytes: null,
    files: null,
    failureReason: null,
  };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeJson(recordFile(paths, id), record);
  const client = new pg.Client({
    connectionString: options.sourceUrl,
    application_name: 'recovery-drill backup',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const last = await client.query<{ at: Date | null }>(
      'select timestamp as at from pg_last_committed_xact()',
    );
    const started = await client.query<{ lsn: string; file: string }>(
      'select lsn::text, pg_walfile_name(lsn) as file from pg_backup_start($1, true) as lsn',
      [`recovery-drill ${id}`],
    );
    await copyLiveDataDir(options.sourceData, data, '', options.signal);
    // pg_backup_stop waits until the WAL the backup needs is archived: bounded, so a broken
    // archive_command fails the backup instead of hanging it.
    await client.query(`set statement_timeout = ${Math.round(options.archiveWaitSeconds ?? 300) * 1000}`);
    type StopRow = { lsn: string; file: string; labelfile: string; spcmapfile: string | null };
    let stopped: pg.QueryResult<StopRow>;
    try {
      stopped = await client.query<StopRow>(
        'select lsn::text, pg_walfile_name(lsn) as file, labelfile, spcmapfile from pg_backup_stop(true)',
      );
    } catch (error) {
      throw new Error(
        `the WAL this backup needs was not archived in time (${(error as Error).message}): check archive failures with \`recovery-drill local source status\` and the source's postgres.log`,
        { cause: error },
      );
    }
    const stoppedAt = new Date().toISOString();
    const stop = stopped.rows[0];
    const start = started.rows[0];
    if (!stop || !start) throw new Error('pg_backup_start/pg_backup_stop returned no row');
    const labelHandle = await open(join(data, 'backup_label'), 'wx', 0o600);
    await labelHandle.writeFile(stop.labelfile);
    await labelHandle.close();
    if (stop.spcmapfile) {
      const mapHandle = await open(join(data, 'tablespace_map'), 'wx', 0o600);
      await mapHandle.writeFile(stop.spcmapfile);
      await mapHandle.close();
    }
    // Owned by the server user like the data dir it came from: a plain `cp -a` of it is a valid
    // data dir (how the benchmark measures the physical floor, and how an operator would by hand).
    await giveToServer(data, await serverUser(), { recursive: true });
    const manifest = await buildManifest(data);
    await writeJson(manifestFile(paths, id), manifest);
    await writeJson(blocksFile(paths, id), await buildBlockIndex(data, manifest));
    record = {
      ...record,
      status: 'available',
      ownerPid: null,
      stoppedAt,
      startLsn: start.lsn,
      stopLsn: stop.lsn,
      startWalFile: start.file,
      stopWalFile: stop.file,
      lastCommitBeforeStart: last.rows[0]?.at ? last.rows[0].at.toISOString() : null,
      sizeBytes: manifest.reduce((sum, e) => sum + e.size, 0),
      files: manifest.length,
    };
    await writeJson(recordFile(paths, id), record);
    return record;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The first WAL segment a restore from this backup reads: the earlier of what backup.json
 * recorded and what its `backup_label` (which recovery itself reads) says; null when neither is known.
 */
export async function startSegmentOf(paths: StatePaths, backup: BackupRecord): Promise<string | null> {
  const candidates: string[] = [];
  if (backup.startWalFile && WAL_SEGMENT_NAME.test(backup.startWalFile)) candidates.push(backup.startWalFile);
  try {
    const label = await readFile(join(backupDir(paths, backup.id), 'data', 'backup_label'), 'utf8');
    const file = /^START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)$/m.exec(label)?.[1];
    if (file) candidates.push(file);
  } catch {
    // no label: backup.json alone decides
  }
  return candidates.sort((a, b) => a.slice(8).localeCompare(b.slice(8)))[0] ?? null;
}
