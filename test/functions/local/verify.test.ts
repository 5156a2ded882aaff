import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK_SIZE, buildBlockIndex, verifyBackup } from '../../../functions/local/verify.ts';
import { buildManifest, verifyManifest } from '../../../functions/shared/checksums.ts';

/** A backup-like tree: small files and one file of two and a half blocks. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'base', '5'), { recursive: true });
  await writeFile(join(root, 'PG_VERSION'), '17\n');
  await writeFile(join(root, 'base', '5', '1259'), randomBytes(8192));
  await writeFile(join(root, 'base', '5', '16384'), randomBytes(BLOCK_SIZE * 2 + BLOCK_SIZE / 2));
}

async function flipByte(path: string, position: number): Promise<void> {
  const handle = await open(path, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, position);
  await handle.write(Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, position);
  await handle.close();
}

describe('backup verification', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'recovery-drill-verify-'));
    await makeTree(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function check() {
    const manifest = await buildManifest(root);
    const index = await buildBlockIndex(root, manifest);
    return { manifest, index, verify: () => verifyBackup(root, manifest, index) };
  }

  it('indexes only files larger than a block, one SHA-256 per block', async () => {
    const { index } = await check();
    expect(index.map((b) => [b.path, b.blocks.length])).toEqual([['base/5/16384', 3]]);
  });

  it('finds nothing wrong with an untouched backup, as verifyManifest does', async () => {
    const { manifest, verify } = await check();
    expect(await verify()).toEqual([]);
    expect(await verifyManifest(root, manifest, { strict: true })).toEqual([]);
  });

  it('names a large file whose third block was altered', async () => {
    const { verify } = await check();
    await flipByte(join(root, 'base', '5', '16384'), BLOCK_SIZE * 2 + 10);
    expect(await verify()).toEqual([
      expect.objectContaining({
        path: 'base/5/16384',
        problem: 'checksum',
        expected: expect.stringMatching(/^block 2:/),
      }),
    ]);
  });

  it('names a small file that was altered', async () => {
    const { verify } = await check();
    await flipByte(join(root, 'base', '5', '1259'), 100);
    expect(await verify()).toEqual([expect.objectContaining({ path: 'base/5/1259', problem: 'checksum' })]);
  });

  it('names a large file that grew or shrank', async () => {
    const { verify } = await check();
    await appendFile(join(root, 'base', '5', '16384'), 'x');
    expect(await verify()).toEqual([expect.objectContaining({ path: 'base/5/16384', problem: 'size' })]);
    await truncate(join(root, 'base', '5', '16384'), BLOCK_SIZE);
    expect(await verify()).toEqual([expect.objectContaining({ path: 'base/5/16384', problem: 'size' })]);
  });

  it('names missing and unexpected files', async () => {
    const { verify } = await check();
    await rm(join(root, 'PG_VERSION'));
    await writeFile(join(root, 'base', '5', 'planted'), 'x');
    expect(await verify()).toEqual(
      expect.arrayContaining([
        { path: 'PG_VERSION', problem: 'missing' },
        { path: 'base/5/planted', problem: 'unexpected' },
      ]),
    );
  });
});
