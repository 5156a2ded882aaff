/**
 * Checking a backup against its manifest fast enough that a restore costs little more than the
 * copy it makes anyway. A whole-file SHA-256 cannot be split, and one relation file of a 1 GB
 * database is 1 GB: hashed on one core that takes longer than copying it. So each backup also
 * records the SHA-256 of every 64 MiB block of its large files (`blocks.json`), and a restore
 * hashes blocks and small files on worker threads, all cores at once, beside the copy.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ManifestEntry, ManifestMismatch } from '../shared/checksums.ts';
import { listFiles } from '../shared/checksums.ts';

/** Files larger than this are hashed (and checked) in blocks of this size. */
export const BLOCK_SIZE = 64 << 20;

export interface BlockEntry {
  readonly path: string;
  readonly size: number;
  /** SHA-256 of each consecutive BLOCK_SIZE block (the last one shorter). */
  readonly blocks: readonly string[];
}

interface Task {
  readonly id: number;
  readonly path: string;
  readonly offset: number;
  /** Bytes to hash; -1: the whole file. */
  readonly length: number;
}

interface Result {
  readonly id: number;
  readonly size: number;
  readonly sha256: string;
  readonly error?: string;
}

// Plain CommonJS so that it runs in a worker without the TypeScript loader.
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const buffer = Buffer.allocUnsafe(8 << 20);
parentPort.on('message', (task) => {
  let fd;
  try {
    fd = openSync(task.path, 'r');
    const hash = createHash('sha256');
    let done = 0;
    for (;;) {
      const want = task.length < 0 ? buffer.length : Math.min(buffer.length, task.length - done);
      if (want === 0) break;
      const n = readSync(fd, buffer, 0, want, task.offset + done);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      done += n;
    }
    parentPort.postMessage({ id: task.id, size: done, sha256: hash.digest('hex') });
  } catch (error) {
    parentPort.postMessage({ id: task.id, size: -1, sha256: '', error: String(error) });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
`;

/** Hashes tasks on a pool of worker threads, largest first; resolves with results by task id. */
async function hashOnWorkers(tasks: readonly Task[], signal?: AbortSignal): Promise<Map<number, Result>> {
  const results = new Map<number, Result>();
  if (tasks.length === 0) return results;
  const queue = [...tasks].sort((a, b) => b.length - a.length);
  const count = Math.max(1, Math.min(availableParallelism(), 4, queue.length));
  const workers = Array.from({ length: count }, () => new Worker(WORKER, { eval: true }));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              if (signal?.aborted) return reject(signal.reason);
              const task = queue.shift();
              if (!task) return resolve();
              worker.postMessage(task);
            };
            worker.on('message', (result: Result) => {
              results.set(result.id, result);
              next();
            });
            worker.once('error', reject);
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** The block index of a backup's large files (computed once, when the backup is taken). */
export async function buildBlockIndex(
  root: string,
  manifest: readonly ManifestEntry[],
): Promise<BlockEntry[]> {
  const large = manifest.filter((e) => e.size > BLOCK_SIZE);
  const tasks: Task[] = [];
  const owners: { entry: ManifestEntry; index: number }[] = [];
  for (const entry of large) {
    for (let offset = 0, index = 0; offset < entry.size; offset += BLOCK_SIZE, index++) {
      owners.push({ entry, index });
      tasks.push({
        id: tasks.length,
        path: join(root, entry.path),
        offset,
        length: Math.min(BLOCK_SIZE, entry.size - offset),
      });
    }
  }
  const results = await hashOnWorkers(tasks);
  const blocks = new Map<string, string[]>();
  for (const task of tasks) {
    const result = results.get(task.id);
    const owner = owners[task.id];
    if (!result || !owner || result.error) throw new Error(`hashing ${task.path} failed: ${result?.error}`);
    const list = blocks.get(owner.entry.path) ?? [];
    list[owner.index] = result.sha256;
    blocks.set(owner.entry.path, list);
  }
  return large.map((e) => ({ path: e.path, size: e.size, blocks: blocks.get(e.path) ?? [] }));
}

/**
 * What `verifyManifest(root, manifest, { strict: true })` reports (missing, unexpected, size,
 * checksum), but hashed on every core: small files whole, large files by the blocks in `index`.
 * A large file without a block index entry is hashed whole.
 */
export async function verifyBackup(
  root: string,
  manifest: readonly ManifestEntry[],
  index: readonly BlockEntry[],
  signal?: AbortSignal,
): Promise<ManifestMismatch[]> {
  const mismatches: ManifestMismatch[] = [];
  const present = new Set(await listFiles(root));
  const listed = new Set(manifest.map((e) => e.path));
  for (const path of present) if (!listed.has(path)) mismatches.push({ path, problem: 'unexpected' });
  for (const entry of manifest)
    if (!present.has(entry.path)) mismatches.push({ path: entry.path, problem: 'missing' });
  if (mismatches.length > 0) return mismatches;

  const byPath = new Map(index.map((b) => [b.path, b]));
  const tasks: Task[] = [];
  const checks: { entry: ManifestEntry; expected: string; length: number }[] = [];
  for (const entry of manifest) {
    const blocks = byPath.get(entry.path);
    if (blocks && blocks.size === entry.size && entry.size > BLOCK_SIZE) {
      blocks.blocks.forEach((expected, i) => {
        const offset = i * BLOCK_SIZE;
        const length = Math.min(BLOCK_SIZE, entry.size - offset);
        checks.push({ entry, expected, length });
        tasks.push({ id: tasks.length, path: join(root, entry.path), offset, length });
      });
      // One byte past the end: a file that grew is altered too.
      checks.push({ entry, expected: '', length: 0 });
      tasks.push({ id: tasks.length, path: join(root, entry.path), offset: entry.size, length: 1 });
    } else {
      checks.push({ entry, expected: entry.sha256, length: -1 });
      tasks.push({ id: tasks.length, path: join(root, entry.path), offset: 0, length: -1 });
    }
  }
  const results = await hashOnWorkers(tasks, signal);
  const reported = new Set<string>();
  for (const task of tasks) {
    const check = checks[task.id];
    const result = results.get(task.id);
    if (!check || reported.has(check.entry.path)) continue;
    const { entry } = check;
    const fail = (mismatch: ManifestMismatch) => {
      mismatches.push(mismatch);
      reported.add(entry.path);
    };
    if (!result || result.error) {
      fail({ path: entry.path, problem: 'missing' });
    } else if (check.length === -1) {
      if (result.size !== entry.size)
        fail({
          path: entry.path,
          problem: 'size',
          expected: String(entry.size),
          actual: String(result.size),
        });
      else if (result.sha256 !== entry.sha256)
        fail({ path: entry.path, problem: 'checksum', expected: entry.sha256, actual: result.sha256 });
    } else if (check.length === 0) {
      if (result.size !== 0)
        fail({
          path: entry.path,
          problem: 'size',
          expected: String(entry.size),
          actual: `more than ${entry.size}`,
        });
    } else if (result.size !== check.length) {
      fail({ path: entry.path, problem: 'size', expected: String(entry.size), actual: 'less' });
    } else if (result.sha256 !== check.expected) {
      fail({
        path: entry.path,
        problem: 'checksum',
        expected: `block ${task.offset / BLOCK_SIZE}: ${check.expected}`,
        actual: result.sha256,
      });
    }
  }
  return mismatches;
}
