import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildManifest, sha256Hex, verifyManifest } from '../../../functions/shared/checksums.ts';

const dirs: string[] = [];
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'checksums-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('checksum manifests', () => {
  it('lists every file with its size and SHA-256, sorted, with / separators', async () => {
    const root = tree({ 'b/migration.sql': 'CREATE TABLE x();', 'a.txt': 'hello' });
    expect(await buildManifest(root)).toEqual([
      { path: 'a.txt', size: 5, sha256: sha256Hex('hello') },
      { path: 'b/migration.sql', size: 17, sha256: sha256Hex('CREATE TABLE x();') },
    ]);
  });

  it('finds a file altered after the manifest was made, even at the same size', async () => {
    const root = tree({ 'base/1': 'aaaa', 'base/2': 'bbbb' });
    const manifest = await buildManifest(root);
    writeFileSync(join(root, 'base/2'), 'bbbc');
    expect(await verifyManifest(root, manifest)).toEqual([
      expect.objectContaining({ path: 'base/2', problem: 'checksum' }),
    ]);
  });

  it('finds missing, resized and (when strict) unexpected files', async () => {
    const root = tree({ one: '1', two: '22' });
    const manifest = await buildManifest(root);
    rmSync(join(root, 'one'));
    writeFileSync(join(root, 'two'), '222');
    writeFileSync(join(root, 'three'), '3');
    const problems = await verifyManifest(root, manifest, { strict: true });
    expect(problems.map((p) => `${p.path}:${p.problem}`)).toEqual([
      'one:missing',
      'two:size',
      'three:unexpected',
    ]);
  });
});
