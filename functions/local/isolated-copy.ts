/**
 * The isolated copy (issue 14, `local.isolatedDir`): a second repository, like pgBackRest's second
 * repo, holding every backup and every archived WAL segment of the source, so that a drill from it
 * (`drill --local --from isolated`) proves it alone restores once the state folder is lost. The
 * source's archive command writes each segment into both archives and compares each copy with the
 * segment (archive.ts); every backup is copied here when it ends and checked against its manifest
 * before it counts; retention prunes both with the same planner (retention.ts); `local status`
 * shows both and what one holds that the other lacks.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestEntry } from '../shared/checksums.ts';
import { type ArchiveSummary, archivedSegments, summarizeArchive } from './archive.ts';
import { type BackupRecord, listBackupsChecked } from './backup.ts';
import { makePassageDir } from './binaries.ts';
import { coverageOver } from './coverage.ts';
import { type RepositoryName, repositoryView } from './repositories.ts';
import type { StatePaths } from './state.ts';
import { type BlockEntry, verifyBackup } from './verify.ts';

/** A backup whose copy in the isolated repository is not the backup: the copy is removed. */
export class IsolatedCopyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IsolatedCopyError';
  }
}

/** The files beside a backup's data that must be the same bytes in the copy. */
const RECORD_FILES = ['backup.json', 'manifest.json', 'blocks.json'] as const;

function copyTree(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const copy = spawn('cp', ['-a', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    copy.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    });
    copy.once('error', reject);
    copy.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`cp exit ${code}: ${errors.trim().slice(-500)}`)),
    );
  });
}

/**
 * Copies a finished backup of the primary repository into the isolated copy: into
 * `incoming/<id>` first, checked there (its record, manifest and block index the same bytes, every
 * file of its data against the manifest's SHA-256), then renamed into `backups/<id>`, so the
 * isolated copy never lists a backup that is not whole. A no-op without an isolated copy.
 * @throws IsolatedCopyError naming the first file that differs (the copy is removed).
 */
export async function copyBackupToIsolated(paths: StatePaths, id: string): Promise<void> {
  const isolated = paths.isolated;
  if (!isolated) return;
  const from = join(paths.primary.backups, id);
  const incoming = join(isolated.dir, 'incoming', id);
  const target = join(isolated.backups, id);
  await makePassageDir(isolated.dir);
  await mkdir(join(isolated.dir, 'incoming'), { recursive: true, mode: 0o700 });
  await mkdir(isolated.backups, { recursive: true });
  await rm(incoming, { recursive: true, force: true });
  try {
    await copyTree(from, incoming);
    for (const file of RECORD_FILES) {
      const [original, copied] = await Promise.all([
        readFile(join(from, file)),
        readFile(join(incoming, file)).catch(() => null),
      ]);
      if (!copied || !original.equals(copied))
        throw new IsolatedCopyError(
          `the isolated copy of backup ${id} is not the backup: ${join(incoming, file)} ${copied ? 'differs' : 'is missing'}`,
        );
    }
    const manifest = JSON.parse(await readFile(join(incoming, 'manifest.json'), 'utf8')) as ManifestEntry[];
    const blocks = JSON.parse(await readFile(join(incoming, 'blocks.json'), 'utf8')) as BlockEntry[];
    const first = (await verifyBackup(join(incoming, 'data'), manifest, blocks))[0];
    if (first)
      throw new IsolatedCopyError(
        `the isolated copy of backup ${id} is not the backup: data/${first.path} is ${first.problem === 'checksum' ? 'altered' : first.problem} in ${incoming}`,
      );
    await rm(target, { recursive: true, force: true });
    await rename(incoming, target);
  } catch (error) {
    await rm(incoming, { recursive: true, force: true });
    throw error;
  }
}

/** Removes a backup from the isolated copy too (an interrupted or deleted backup). */
export async function deleteIsolatedBackup(paths: StatePaths, id: string): Promise<void> {
  if (!paths.isolated) return;
  await rm(join(paths.isolated.dir, 'incoming', id), { recursive: true, force: true });
  await rm(join(paths.isolated.backups, id), {
    recursive: true,
    force: true,
    maxRetries: 5,
    retryDelay: 100,
  });
}

/** One repository as `local status` shows it. */
export interface RepositoryStatus {
  readonly name: RepositoryName;
  readonly dir: string;
  /** False when its folder is gone (moved away, lost). */
  readonly present: boolean;
  readonly backups: number;
  readonly newestBackup: { id: string; stoppedAt: string | null } | null;
  readonly archive: ArchiveSummary;
  /** What a restore from this repository alone can reach. */
  readonly window: { earliest: Date | null; latest: Date | null };
  /** Damaged backup records in it, one sentence each. */
  readonly problems: string[];
}

/** Both repositories, and what one holds that the other lacks. */
export interface RepositoriesStatus {
  readonly primary: RepositoryStatus;
  readonly isolated: RepositoryStatus | null;
  /**
   * Backups and archived segments of the primary repository the isolated copy lacks (segments
   * from the isolated copy's oldest backup on: older ones are the primary's to prune), and the
   * other way round. Empty when the two agree.
   */
  readonly gaps: string[];
}

async function repositoryStatus(paths: StatePaths, name: RepositoryName): Promise<RepositoryStatus> {
  const view = repositoryView(paths, name);
  const dir = name === 'primary' ? paths.primary.dir : (paths.isolated?.dir as string);
  const listing = await listBackupsChecked(view);
  const available = listing.backups.filter((b) => b.status === 'available' && b.stoppedAt);
  const newest = available.at(-1);
  const segments = await archivedSegments(view.walArchive);
  const { earliest, coverage } = await coverageOver(view, segments);
  return {
    name,
    dir,
    present: existsSync(view.walArchive) || existsSync(view.backups),
    backups: available.length,
    newestBackup: newest ? { id: newest.id, stoppedAt: newest.stoppedAt } : null,
    archive: await summarizeArchive(view, segments),
    window: { earliest, latest: coverage?.end ?? null },
    problems: listing.damaged.map((d) => d.message),
  };
}

/** What `local status` shows of the two repositories. */
export async function repositoriesStatus(paths: StatePaths): Promise<RepositoriesStatus> {
  const primary = await repositoryStatus(paths, 'primary');
  if (!paths.isolated) return { primary, isolated: null, gaps: [] };
  const isolated = await repositoryStatus(paths, 'isolated');
  const gaps: string[] = [];
  const ids = async (view: StatePaths) =>
    (await listBackupsChecked(view)).backups
      .filter((b: BackupRecord) => b.status === 'available')
      .map((b) => b.id);
  const primaryIds = await ids(repositoryView(paths, 'primary'));
  const isolatedIds = await ids(repositoryView(paths, 'isolated'));
  const missingBackups = primaryIds.filter((id) => !isolatedIds.includes(id));
  if (missingBackups.length > 0)
    gaps.push(
      `backup(s) not in the isolated copy: ${missingBackups.join(', ')} (copied when a backup ends; take a new backup)`,
    );
  const onlyIsolated = isolatedIds.filter((id) => !primaryIds.includes(id));
  if (onlyIsolated.length > 0 && primary.present)
    gaps.push(`backup(s) only in the isolated copy: ${onlyIsolated.join(', ')}`);
  const primarySegments = await archivedSegments(paths.primary.walArchive);
  const isolatedSegments = new Set(await archivedSegments(paths.isolated.walArchive));
  const from = isolated.archive.oldest ?? '';
  const missing = primarySegments.filter((s) => s >= from && !isolatedSegments.has(s));
  if (missing.length > 0)
    gaps.push(
      `${missing.length} archived segment(s) not in the isolated copy: ${missing[0]}${missing.length > 1 ? ` .. ${missing.at(-1)}` : ''} (the archive command writes both: see the source's postgres.log)`,
    );
  const newer = [...isolatedSegments].filter((s) => s > (primary.archive.newest ?? '')).sort();
  if (newer.length > 0 && primary.present)
    gaps.push(
      `${newer.length} archived segment(s) only in the isolated copy: ${newer[0]}${newer.length > 1 ? ` .. ${newer.at(-1)}` : ''} (the primary archive is failing)`,
    );
  if (!primary.present)
    gaps.push(`the primary repository in ${primary.dir} is gone (its wal-archive and backups folders)`);
  if (!isolated.present)
    gaps.push(`the isolated copy in ${isolated.dir} is gone: only the primary repository can restore`);
  return { primary, isolated, gaps };
}

/**
 * Why a drill from the isolated copy cannot start, or null: no copy configured, its folder gone, no
 * backup in it. Said before anything is created, naming what is missing.
 */
export async function isolatedCopyProblem(paths: StatePaths): Promise<string | null> {
  const isolated = paths.isolated;
  if (!isolated) return 'no isolated copy is configured (local.isolatedDir)';
  if (!existsSync(isolated.dir))
    return `the isolated copy ${isolated.dir} (local.isolatedDir) does not exist: it is made when the source starts, and filled by its archive and its backups`;
  const view = repositoryView(paths, 'isolated');
  const backups = (await listBackupsChecked(view)).backups.filter((b) => b.status === 'available');
  if (backups.length === 0)
    return `the isolated copy ${isolated.dir} holds no backup (${isolated.backups} is empty or missing): take one with \`recovery-drill local backup\` (every backup lands in both repositories)`;
  if ((await archivedSegments(view.walArchive)).length === 0)
    return `the isolated copy ${isolated.dir} holds no archived WAL (${isolated.walArchive} is empty or missing)`;
  return null;
}
