import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedCluster } from '../../../functions/local/cluster.ts';
import {
  HEARTBEAT_SCRIPT,
  heartbeatProcessRunning,
  startHeartbeatLoop,
  startHeartbeatProcess,
  stopHeartbeatProcess,
} from '../../../functions/local/heartbeat-process.ts';
import { isProcessAlive } from '../../../functions/local/processes.ts';
import { listProcesses, type StatePaths, statePathsAt } from '../../../functions/local/state.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function beatsIn(url: string, schema = 'recovery_drill'): Promise<number> {
  const exists = await query<{ present: boolean }>(
    url,
    `SELECT to_regclass('${schema}.heartbeat') IS NOT NULL AS present`,
  );
  if (!exists[0]?.present) return 0;
  const rows = await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${schema}.heartbeat`);
  return rows[0]?.n ?? 0;
}

/** Waits for a condition the writer brings about (no claim on how fast: the deadline only ends a hung test). */
async function eventually(check: () => Promise<boolean>, what: string, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting: ${what}`);
}

describe('local heartbeat writer', () => {
  let cluster: StartedCluster & { destroy(): Promise<void> };
  let state: string;
  let paths: StatePaths;

  beforeAll(async () => {
    cluster = await createTemporaryCluster();
    await query(cluster.url('postgres'), 'CREATE DATABASE btcts');
    state = await mkdtemp(join(tmpdir(), 'rd-heartbeat-state-'));
    paths = statePathsAt(state);
  });
  afterAll(async () => {
    if (paths) await stopHeartbeatProcess(paths);
    const dataDir = cluster?.dataDir;
    await cluster?.destroy();
    if (state) await rm(state, { recursive: true, force: true });
    if (dataDir) expect(postgresProcessesUnder(dataDir)).toEqual([]);
  });

  it('creates the table as owner, beats, survives a dropped connection, and stops cleanly', async () => {
    await query(cluster.url('postgres'), 'CREATE DATABASE loop');
    const url = cluster.url('loop');
    const events: Record<string, unknown>[] = [];
    const loop = startHeartbeatLoop(url, { schema: 'beats', intervalMs: 20, log: (e) => events.push(e) });
    try {
      await eventually(async () => (await beatsIn(url, 'beats')) >= 2, 'two beats');
      // The source drops the writer's connection (a restart, a failover): the next beat reconnects.
      await query(
        url,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'recovery-drill-heartbeat'`,
      );
      const before = await beatsIn(url, 'beats');
      await eventually(
        async () => (await beatsIn(url, 'beats')) > before + 1,
        'beats after the dropped connection',
      );
    } finally {
      await loop.stop();
    }
    const written = await beatsIn(url, 'beats');
    // A beat whose commit raced the dropped connection may be in the table without being counted.
    expect(loop.beats()).toBeGreaterThanOrEqual(3);
    expect(written).toBeGreaterThanOrEqual(loop.beats());
    // Stopped means stopped: no beat after stop().
    await new Promise((r) => setTimeout(r, 100));
    expect(await beatsIn(url, 'beats')).toBe(written);
    const text = JSON.stringify(events);
    expect(events.map((e) => e.msg)).toContain('heartbeat stopped');
    expect(text).not.toContain(new URL(url).password);
  });

  it('refuses a bad schema or interval before connecting, naming the option', () => {
    expect(() => startHeartbeatLoop('postgres://x@127.0.0.1:1/x', { schema: 'no; schema' })).toThrow(
      /heartbeat\.schema: expected a SQL identifier/,
    );
    expect(() => startHeartbeatLoop('postgres://x@127.0.0.1:1/x', { intervalMs: 0 })).toThrow(
      /^intervalMs: expected an integer from 10 to 3600000/,
    );
  });

  it('runs detached, registered as the heartbeat process, until it is stopped', async () => {
    const url = cluster.url('btcts');
    const first = await startHeartbeatProcess(paths, { databaseUrl: url, intervalMs: 50 });
    expect(first.started).toBe(true);
    await eventually(async () => (await beatsIn(url)) >= 2, 'two beats from the detached writer');
    expect(await heartbeatProcessRunning(paths)).toBe(true);
    const entries = await listProcesses(paths);
    expect(entries).toEqual([
      expect.objectContaining({ kind: 'heartbeat', id: 'source', pid: first.pid, marker: HEARTBEAT_SCRIPT }),
    ]);
    // Starting again finds it running and leaves it alone.
    expect(await startHeartbeatProcess(paths, { databaseUrl: url, intervalMs: 50 })).toEqual({
      pid: first.pid,
      started: false,
    });

    expect(await stopHeartbeatProcess(paths)).toBe(true);
    expect(isProcessAlive(first.pid)).toBe(false);
    expect(await listProcesses(paths)).toEqual([]);
    expect(await heartbeatProcessRunning(paths)).toBe(false);
    expect(await stopHeartbeatProcess(paths)).toBe(false);
    const log = await readFile(join(paths.sourceDir, 'heartbeat.log'), 'utf8');
    expect(log).toContain('"msg":"first heartbeat written"');
    expect(log).toContain('"why":"SIGTERM"');
    expect(log).not.toContain(new URL(url).password);
  });

  it('exits 2 naming DATABASE_URL when it is not set', async () => {
    const outcome = await promisify(execFile)(process.execPath, ['--import', 'tsx', HEARTBEAT_SCRIPT], {
      env: { PATH: process.env.PATH ?? '' },
    }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(outcome.code).toBe(2);
    expect(outcome.stdout).toContain('DATABASE_URL is not set');
  });
});
