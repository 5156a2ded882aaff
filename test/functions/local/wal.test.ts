import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveCommand, restoreCommand } from '../../../functions/local/archive.ts';
import type { StartedCluster } from '../../../functions/local/cluster.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';
import { summarizeSegment } from '../../../functions/local/wal.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';

const sh = promisify(execFile);

/** Runs a PostgreSQL archive/restore command as the server would: %p and %f substituted, in a data dir. */
async function runAsServer(command: string, cwd: string, p: string, f: string): Promise<number> {
  const expanded = command.replaceAll('%p', p).replaceAll('%f', f).replaceAll('%%', '%');
  try {
    await sh('/bin/sh', ['-c', expanded], { cwd });
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  }
}

describe('WAL segment reader', () => {
  let cluster: StartedCluster & { destroy(): Promise<void> };
  let client: pg.Client;

  beforeAll(async () => {
    cluster = await createTemporaryCluster({
      settings: { wal_level: 'replica', track_commit_timestamp: 'on' },
    });
    client = new pg.Client({ connectionString: cluster.url() });
    await client.connect();
    await client.query('create table t (id serial primary key, pad text)');
  });

  afterAll(async () => {
    await client?.end();
    await cluster?.destroy();
    expect(postgresProcessesUnder(cluster.dataDir)).toEqual([]);
  });

  /** Commit time of the newest commit, in Unix microseconds, exactly as the server recorded it. */
  async function lastCommitMicros(): Promise<bigint> {
    const { rows } = await client.query<{ micros: string }>(
      'select (extract(epoch from timestamp) * 1000000)::bigint::text as micros from pg_last_committed_xact()',
    );
    return BigInt(rows[0]?.micros as string);
  }

  async function switchSegment(): Promise<Buffer> {
    const { rows } = await client.query<{ file: string }>('select pg_walfile_name(pg_switch_wal()) as file');
    return readFileSync(join(cluster.dataDir, 'pg_wal', rows[0]?.file as string));
  }

  it('finds the newest commit time of a segment to the microsecond', async () => {
    for (let i = 0; i < 50; i++) await client.query('insert into t (pad) values ($1)', [`row ${i}`]);
    const expected = await lastCommitMicros();
    const summary = summarizeSegment(await switchSegment());
    expect(summary.lastCommitMicros).toBe(expected);
    expect(summary.commits).toBeGreaterThanOrEqual(50);
  });

  it('follows records across pages when large rows fill the segment', async () => {
    await client.query(
      'insert into t (pad) select repeat(md5(g::text), 300) from generate_series(1, 3000) g',
    );
    await client.query("insert into t (pad) values ('last')");
    const expected = await lastCommitMicros();
    const summary = summarizeSegment(await switchSegment());
    expect(summary.lastCommitMicros).toBe(expected);
  });

  it('reports no commit for a segment that is all zeros', () => {
    expect(summarizeSegment(Buffer.alloc(16 * 1024 * 1024)).lastCommitMicros).toBeNull();
  });
});

describe('archive command', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "recovery-drill-archive it's 100%-"));
    await chmod(root, 0o755);
    await mkdir(join(root, 'archive'));
    await mkdir(join(root, 'data', 'pg_wal'), { recursive: true });
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('archives a segment under its name without leaving a temp file, even in a folder with quotes and %', async () => {
    const name = '000000010000000000000007';
    await writeFile(join(root, 'data', 'pg_wal', name), 'segment bytes');
    const rc = await runAsServer(
      archiveCommand(join(root, 'archive')),
      join(root, 'data'),
      `pg_wal/${name}`,
      name,
    );
    expect(rc).toBe(0);
    expect(await readdir(join(root, 'archive'))).toEqual([name]);
    expect(await readFile(join(root, 'archive', name), 'utf8')).toBe('segment bytes');
  });

  it('accepts the same segment again but never overwrites different bytes', async () => {
    const name = '000000010000000000000008';
    const archive = join(root, 'archive');
    await writeFile(join(root, 'data', 'pg_wal', name), 'original');
    expect(await runAsServer(archiveCommand(archive), join(root, 'data'), `pg_wal/${name}`, name)).toBe(0);
    expect(await runAsServer(archiveCommand(archive), join(root, 'data'), `pg_wal/${name}`, name)).toBe(0);
    await writeFile(join(root, 'data', 'pg_wal', name), 'changed!');
    expect(await runAsServer(archiveCommand(archive), join(root, 'data'), `pg_wal/${name}`, name)).not.toBe(
      0,
    );
    expect(await readFile(join(archive, name), 'utf8')).toBe('original');
  });

  it('restores an archived file and fails for one that is not archived', async () => {
    const archive = join(root, 'archive');
    const command = restoreCommand(archive);
    const cwd = join(root, 'data');
    expect(await runAsServer(command, cwd, 'pg_wal/RECOVERYXLOG', '000000010000000000000007')).toBe(0);
    expect(await readFile(join(cwd, 'pg_wal', 'RECOVERYXLOG'), 'utf8')).toBe('segment bytes');
    expect(await runAsServer(command, cwd, 'pg_wal/RECOVERYXLOG', '00000002.history')).not.toBe(0);
  });
});
