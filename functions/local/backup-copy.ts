/**
 * The copy that turns a backup back into a data directory, checked against the backup's manifest
 * while it copies: an altered backup is never started as a database.
 */
import { spawn } from 'node:child_process';
import { BackupIntegrityError } from '../drill/ports/database-recovery.ts';
import type { ManifestEntry, ManifestMismatch } from '../shared/checksums.ts';
import { backupDir, blocksFile, dataOf, manifestFile } from './backup.ts';
import type { StatePaths } from './state.ts';
import { DamagedStateError, readJson } from './state-json.ts';
import { type BlockEntry, verifyBackup } from './verify.ts';

/**
 * Copies a backup into a new data dir (`cp -a`: the fastest copy the machine has, keeping the
 * server user's ownership and modes) while the backup is checked against its manifest (what
 * `verifyManifest` checks, strict: a file added to the backup counts too; large files by their
 * 64 MiB blocks, on every core: see verify.ts). Both run at once, so the
 * check costs little more than the copy; the copy is never started as a database before the
 * check has passed.
 * @throws BackupIntegrityError naming the first file that is missing, altered or not in the manifest.
 */
export async function copyVerifiedBackup(
  paths: StatePaths,
  id: string,
  target: string,
  signal?: AbortSignal,
): Promise<void> {
  const source = dataOf(paths, id);
  const manifest = await readChecklist<ManifestEntry[]>(paths, id, manifestFile(paths, id));
  if (!manifest)
    throw new BackupIntegrityError(id, 'manifest.json', 'missing: the backup cannot be verified');
  const copy = spawn('cp', ['-a', source, target], { stdio: ['ignore', 'ignore', 'pipe'] });
  let copyErrors = '';
  copy.stderr?.on('data', (chunk: Buffer) => {
    copyErrors += chunk.toString('utf8');
  });
  const copied = new Promise<number | null>((resolve) => {
    copy.once('close', (code) => resolve(code));
    copy.once('error', () => resolve(-1));
  });
  const onAbort = () => copy.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort, { once: true });
  let mismatches: ManifestMismatch[];
  try {
    const blocks = (await readChecklist<BlockEntry[]>(paths, id, blocksFile(paths, id))) ?? [];
    mismatches = await verifyBackup(source, manifest, blocks, signal);
  } catch (error) {
    copy.kill('SIGKILL');
    await copied;
    throw error;
  }
  const first = mismatches[0];
  if (first) {
    copy.kill('SIGKILL');
    await copied;
    throw new BackupIntegrityError(id, first.path, describeMismatch(first));
  }
  const code = await copied;
  if (code !== 0)
    throw new Error(`copying backup ${id} failed (cp exit ${code}): ${copyErrors.trim().slice(-500)}`);
}

/**
 * Reads a backup's manifest or block index. A damaged one refuses the backup, naming the backup,
 * the file and what to do (it cannot be verified, so it is never started as a database).
 */
async function readChecklist<T>(paths: StatePaths, id: string, file: string): Promise<T | null> {
  try {
    return await readJson<T>(file);
  } catch (error) {
    if (!(error instanceof DamagedStateError)) throw error;
    throw new BackupIntegrityError(
      id,
      file,
      `damaged (${error.problem}): the backup cannot be verified, so it is not restored. ` +
        `Restore to a time an older backup covers, or take a new backup (\`recovery-drill local backup\`); then remove ${backupDir(paths, id)}`,
      { cause: error },
    );
  }
}

function describeMismatch(mismatch: ManifestMismatch): string {
  switch (mismatch.problem) {
    case 'missing':
      return 'missing';
    case 'unexpected':
      return 'not in the manifest (added after the backup)';
    case 'size':
      return `size ${mismatch.actual} differs from the manifest's ${mismatch.expected}`;
    default:
      return `SHA-256 ${mismatch.actual} differs from the manifest's ${mismatch.expected}`;
  }
}
