/**
 * The archive check reads real WAL: a real embedded PostgreSQL archives its segments into a folder
 * (with the engine's own archive_command), and each test checks a copy of that archive, whole or
 * with one segment removed, overwritten or cut short, as a careless `rm`, a bad disk or a full one
 * would leave it.
 */
import { chmod, copyFile, mkdir, mkdtemp, open, readdir, rm, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveCommand } from '../../../functions/local/archive.ts';
import type { StartedCluster } from '../../../functions/local/cluster.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';
import { checkWalSequence } from '../../../functions/local/wal-check.ts';
import { parseLsn, segmentOfLsn } from '../../../functions/local/wal-reader.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WAL archive check', () => {
  let root: string;
  let archive: string;
  let cluster: StartedCluster & { destroy(): Promise<void> };
  let client: pg.Client;
  /** Archived segment names, oldest first, and the commit times written into each. */
  let segments: string[];
  const commitsBySegment = new Map<string, Date[]>();
  let endLsn: bigint;

  async function lastCommit(): Promise<Date> {
    const { rows } = await client.query<{ at: Date }>('select timestamp as at from pg_last_committed_xact()');
    return rows[0]?.at as Date;
  }

  async function switchAndArchive(): Promise<string> {
    const { rows } = await client.query<{ file: string }>('select pg_walfile_name(pg_switch_wal()) as file');
    const file = rows[0]?.file as string;
    while (!(await readdir(archive)).includes(file)) await sleep(25);
    return file;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'recovery-drill-walcheck-'));
    await chmod(root, 0o777);
    archive = join(root, 'archive');
    await mkdir(archive);
    await chmod(archive, 0o777);
    cluster = await createTemporaryCluster({
      settings: {
        wal_level: 'replica',
        track_commit_timestamp: 'on',
        archive_mode: 'on',
        archive_command: archiveCommand(archive),
      },
    });
    client = new pg.Client({ connectionString: cluster.url() });
    await client.connect();
    await client.query('create table t (id serial primary key, pad text)');
    await switchAndArchive();
    for (let s = 0; s < 4; s++) {
      const times: Date[] = [];
      // Rows over several pages of each segment, and one large row crossing page boundaries.
      for (let i = 0; i < 120; i++) {
        await client.query('insert into t (pad) values ($1)', [`segment ${s} row ${i} ${'x'.repeat(100)}`]);
        times.push(await lastCommit());
      }
      await client.query('insert into t (pad) values ($1)', ['y'.repeat(20_000)]);
      times.push(await lastCommit());
      commitsBySegment.set(await switchAndArchive(), times);
    }
    const { rows } = await client.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
    endLsn = parseLsn(rows[0]?.lsn as string);
    segments = (await readdir(archive)).filter((n) => /^[0-9A-F]{24}$/.test(n)).sort();
  }, 120_000);

  afterAll(async () => {
    await client?.end().catch(() => undefined);
    await cluster?.destroy();
    expect(postgresProcessesUnder(cluster.dataDir)).toEqual([]);
    await rm(root, { recursive: true, force: true });
  });

  /** A copy of the archive to damage. */
  async function copyOfArchive(name: string): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir);
    for (const segment of segments) await copyFile(join(archive, segment), join(dir, segment));
    return dir;
  }

  const written = () => [...commitsBySegment.keys()];
  const lastOf = (segment: string) => commitsBySegment.get(segment)?.at(-1) as Date;

  it('reads a whole archive to its end: the last commit, and the end of WAL where the server is now', async () => {
    const result = await checkWalSequence({ dir: archive, segments, from: segments[0] as string });
    expect(result).toMatchObject({ status: 'complete', first: segments[0], last: segments.at(-1) });
    if (result.status !== 'complete') return;
    expect(result.segments).toBe(segments.length);
    // The archive ends with a WAL switch: replay of it ends where the server writes next.
    expect(result.endLsn).toBe(endLsn);
    expect(segmentOfLsn(result.endLsn - 1n, result.timeline, result.segmentSize)).toBe(segments.at(-1));
    expect(result.lastCommitAt?.getTime()).toBe(lastOf(written().at(-1) as string).getTime());
    expect(result.reachedTarget).toBe(false);
  });

  it('stops at the first commit after a target, as recovery to that time does', async () => {
    const times = commitsBySegment.get(written()[1] as string) as Date[];
    const target = times[10] as Date;
    const result = await checkWalSequence({
      dir: archive,
      segments,
      from: segments[0] as string,
      stopAfter: BigInt(target.getTime()) * 1000n + 999n,
    });
    expect(result).toMatchObject({ status: 'complete', reachedTarget: true, last: written()[1] });
    expect(result.lastCommitAt?.getTime()).toBe(target.getTime());
  });

  it('names a missing middle segment and the last commit before it', async () => {
    const dir = await copyOfArchive('missing');
    const gone = written()[1] as string;
    await unlink(join(dir, gone));
    const names = segments.filter((n) => n !== gone);
    const result = await checkWalSequence({ dir, segments: names, from: segments[0] as string });
    expect(result).toMatchObject({ status: 'missing', segment: gone });
    expect(result.status !== 'complete' && result.detail).toMatch(/is missing from the archive/);
    expect(result.lastCommitAt?.getTime()).toBe(lastOf(written()[0] as string).getTime());
  });

  it('names a segment with 256 overwritten bytes and the last commit before them', async () => {
    const dir = await copyOfArchive('overwritten');
    const bad = written()[2] as string;
    const handle = await open(join(dir, bad), 'r+');
    await handle.write(Buffer.alloc(256, 0x5a), 0, 256, 3 * 8192 + 1000);
    await handle.close();
    const result = await checkWalSequence({ dir, segments, from: segments[0] as string });
    expect(result).toMatchObject({ status: 'damaged', segment: bad });
    const before = lastOf(written()[1] as string).getTime();
    expect(result.lastCommitAt?.getTime()).toBeGreaterThanOrEqual(before);
    expect(result.lastCommitAt?.getTime()).toBeLessThan(lastOf(bad).getTime());
  });

  it('names a segment cut short (a full disk while copying it)', async () => {
    const dir = await copyOfArchive('truncated');
    const bad = written()[0] as string;
    await truncate(join(dir, bad), 8192 * 5);
    const result = await checkWalSequence({ dir, segments, from: segments[0] as string });
    expect(result).toMatchObject({ status: 'damaged', segment: bad });
    expect(result.status !== 'complete' && result.detail).toMatch(/not the 16777216 its header declares/);
  });

  it('ends normally where the next segment is not archived yet', async () => {
    const names = segments.slice(0, -1);
    const result = await checkWalSequence({ dir: archive, segments: names, from: segments[0] as string });
    expect(result).toMatchObject({ status: 'complete', last: names.at(-1) });
    expect(result.lastCommitAt?.getTime()).toBe(lastOf(written().at(-2) as string).getTime());
  });

  it('says so when the backup’s first segment is not in the archive', async () => {
    const result = await checkWalSequence({
      dir: archive,
      segments: segments.slice(1),
      from: segments[0] as string,
    });
    expect(result).toMatchObject({ status: 'missing', segment: segments[0], lastCommitAt: null });
  });
});
