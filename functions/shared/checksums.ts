/**
 * SHA-256 manifests of files: what proves that a backup (local engine) or the app's captured
 * artifacts (AWS) are byte for byte what was stored. One shape for both.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export interface ManifestEntry {
  /** Path relative to the manifest's root, always with `/` separators. */
  readonly path: string;
  readonly size: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function regularFiles(root: string, entries: readonly Dirent[]): string[] {
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** Every regular file below `root` (sorted, `/`-separated, relative to root). */
export async function listFiles(root: string): Promise<string[]> {
  return regularFiles(root, await readdir(root, { recursive: true, withFileTypes: true }));
}

/** {@link listFiles} for CDK synthesis, which cannot await. */
export function listFilesSync(root: string): string[] {
  return regularFiles(root, readdirSync(root, { recursive: true, withFileTypes: true }));
}

/** Manifest of the given files (default: every file below root), sorted by path. */
export async function buildManifest(root: string, paths?: readonly string[]): Promise<ManifestEntry[]> {
  const files = paths ? [...paths].sort() : await listFiles(root);
  const entries: ManifestEntry[] = [];
  for (const path of files) {
    const full = join(root, path);
    const info = await stat(full);
    entries.push({ path, size: info.size, sha256: await sha256File(full) });
  }
  return entries;
}

/**
 * {@link buildManifest} for CDK synthesis, which cannot await: the stack computes the artifacts
 * version from it. Reads each file whole, so it is meant for small trees such as migrations.
 */
export function buildManifestSync(root: string, paths?: readonly string[]): ManifestEntry[] {
  const files = paths ? [...paths].sort() : listFilesSync(root);
  return files.map((path) => {
    const full = join(root, path);
    return { path, size: statSync(full).size, sha256: sha256Hex(readFileSync(full)) };
  });
}

export interface ManifestMismatch {
  readonly path: string;
  readonly problem: 'missing' | 'size' | 'checksum' | 'unexpected';
  readonly expected?: string;
  readonly actual?: string;
}

/**
 * Compares the files below root with a manifest. Files present but not listed are reported as
 * `unexpected` only when `strict` is set.
 */
export async function verifyManifest(
  root: string,
  manifest: readonly ManifestEntry[],
  { strict = false }: { strict?: boolean } = {},
): Promise<ManifestMismatch[]> {
  const mismatches: ManifestMismatch[] = [];
  for (const entry of manifest) {
    const full = join(root, entry.path);
    let size: number;
    try {
      size = (await stat(full)).size;
    } catch {
      mismatches.push({ path: entry.path, problem: 'missing' });
      continue;
    }
    if (size !== entry.size) {
      mismatches.push({
        path: entry.path,
        problem: 'size',
        expected: String(entry.size),
        actual: String(size),
      });
      continue;
    }
    const actual = await sha256File(full);
    if (actual !== entry.sha256)
      mismatches.push({ path: entry.path, problem: 'checksum', expected: entry.sha256, actual });
  }
  if (strict) {
    const listed = new Set(manifest.map((e) => e.path));
    for (const path of await listFiles(root)) {
      if (!listed.has(path)) mismatches.push({ path, problem: 'unexpected' });
    }
  }
  return mismatches;
}
