import { existsSync } from 'node:fs';
import { inspect } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { StartedCluster } from '../../../functions/local/cluster.ts';
import { isProcessAlive } from '../../../functions/local/processes.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';

const started: string[] = [];

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

function withPassword(cluster: StartedCluster, password: string): string {
  const url = new URL(cluster.url());
  url.password = password;
  return url.toString();
}

describe('temporary cluster', () => {
  afterAll(() => {
    for (const dataDir of started) expect(postgresProcessesUnder(dataDir)).toEqual([]);
  });

  it('starts a server that answers on its url with the requested settings', async () => {
    const cluster = await createTemporaryCluster({ settings: { wal_level: 'replica', work_mem: '7MB' } });
    started.push(cluster.dataDir);
    try {
      const rows = await query<{ wal_level: string; work_mem: string; listen: string }>(
        cluster.url(),
        "select current_setting('wal_level') wal_level, current_setting('work_mem') work_mem, current_setting('listen_addresses') listen",
      );
      expect(rows).toEqual([{ wal_level: 'replica', work_mem: '7MB', listen: '127.0.0.1' }]);
      expect(cluster.url('app')).toMatch(
        new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${cluster.port}/app$`),
      );
    } finally {
      await cluster.destroy();
    }
  });

  it('refuses a connection with a wrong password (scram authentication)', async () => {
    const cluster = await createTemporaryCluster();
    started.push(cluster.dataDir);
    try {
      await expect(query(withPassword(cluster, 'not-the-password'), 'select 1')).rejects.toThrow(
        /password authentication failed/,
      );
    } finally {
      await cluster.destroy();
    }
  });

  it('never shows its password when the handle is printed or serialised', async () => {
    const cluster = await createTemporaryCluster();
    started.push(cluster.dataDir);
    try {
      const password = new URL(cluster.url()).password;
      expect(password.length).toBeGreaterThan(20);
      expect(JSON.stringify(cluster)).not.toContain(password);
      expect(inspect(cluster, { depth: 5 })).not.toContain(password);
    } finally {
      await cluster.destroy();
    }
  });

  it('gives each cluster its own port and password', async () => {
    const [a, b] = await Promise.all([createTemporaryCluster(), createTemporaryCluster()]);
    started.push(a.dataDir, b.dataDir);
    try {
      expect(a.port).not.toBe(b.port);
      expect(new URL(a.url()).password).not.toBe(new URL(b.url()).password);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });

  it('stops the postmaster before stop() resolves and destroy() removes its files', async () => {
    const cluster = await createTemporaryCluster();
    started.push(cluster.dataDir);
    expect(isProcessAlive(cluster.pid)).toBe(true);
    await cluster.stop();
    expect(isProcessAlive(cluster.pid)).toBe(false);
    expect(existsSync(cluster.dataDir)).toBe(true);
    await cluster.destroy();
    expect(existsSync(cluster.dataDir)).toBe(false);
  });
});
