import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import type { CommandIo } from '../../bin/commands/types.ts';
import { isProcessAlive } from '../../functions/local/processes.ts';
import { listProcesses, statePathsAt } from '../../functions/local/state.ts';
import { postgresProcessesUnder } from '../support/postgres.ts';

const REPO = join(import.meta.dirname, '..', '..');

/** The CLI as a separate process, as two terminals run it. */
function cliChild(cwd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'recovery-drill.js'), ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/** Live processes whose command line holds every fragment (this test's writers only: they name its state folder). */
function processesWith(...fragments: string[]): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
        return fragments.every((f) => cmdline.includes(f)) && isProcessAlive(Number(name));
      } catch {
        return false;
      }
    })
    .map(Number);
}

function capturedIo(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (t) => out.push(t), err: (t) => err.push(t), env: {}, cwd };
  return { io, out, err };
}

const config = () => ({
  source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
  isolation: { copyRegion: 'eu-central-1' },
  local: { stateDir: 'state', archiveTimeoutSeconds: 60 },
});

describe('local commands', () => {
  let dir: string;
  const run = async (...args: string[]) => {
    const { io, out, err } = capturedIo(dir);
    const code = await main(['local', ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'local-cli-'));
    // As root the server runs as "postgres", which must be able to pass through this folder.
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'recovery-drill.config.json'), JSON.stringify(config()));
  });

  afterAll(async () => {
    try {
      await run('cleanup');
    } finally {
      await run('source', 'stop');
    }
    expect(postgresProcessesUnder(dir)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('says the source is not running instead of printing a url (exit 1)', async () => {
    const { code, err } = await run('source', 'url');
    expect(code).toBe(1);
    expect(err).toMatch(/not running/);
  });

  it('refuses a backup without a running source (exit 2)', async () => {
    const { code, err } = await run('backup');
    expect(code).toBe(2);
    expect(err).toMatch(/source/);
  });

  it('creates the source once when two commands start it at once: one writer of each kind', async () => {
    // Two terminals, the same state folder, the same moment: the second waits for the first.
    const both = await Promise.all([
      cliChild(dir, ['local', 'source', 'start']),
      cliChild(dir, ['local', 'source', 'start']),
    ]);
    expect(
      both.map((r) => r.code),
      both.map((r) => r.out).join('\n'),
    ).toEqual([0, 0]);
    const outs = both.map((r) => r.out);
    expect(outs.filter((o) => /source created, provisioned and started/.test(o))).toHaveLength(1);
    expect(outs.filter((o) => /source already running/.test(o))).toHaveLength(1);
    const second = await run('source', 'start');
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/already running/);
    const state = join(dir, 'state');
    const processes = await listProcesses(statePathsAt(state));
    // One of each: no second start adds a second writer, registered or not.
    expect(processes.map((p) => p.kind).sort()).toEqual(['heartbeat', 'source', 'trickle']);
    expect(processesWith('trickle.ts', state)).toHaveLength(1);
    expect(processesWith('heartbeat-process.ts', state)).toHaveLength(1);
  });

  it('writes the heartbeat into the source beside the app data', async () => {
    const { out } = await run('source', 'url');
    const client = new pg.Client({ connectionString: out.trim().split('\n').at(-1) as string });
    await client.connect();
    try {
      const deadline = Date.now() + 30_000;
      let beats = 0;
      while (beats === 0 && Date.now() < deadline) {
        const { rows } = await client
          .query<{ n: string }>(
            "select count(*) as n from recovery_drill.heartbeat where at > now() - interval '5 minutes'",
          )
          .catch(() => ({ rows: [{ n: '0' }] }));
        beats = Number(rows[0]?.n);
        if (beats === 0) await new Promise((r) => setTimeout(r, 250));
      }
      expect(beats).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  });

  it('prints a url on the last line that reaches the seeded application database', async () => {
    const { code, out } = await run('source', 'url');
    expect(code).toBe(0);
    const url = out.trim().split('\n').at(-1) as string;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>('select count(*) as n from "Account"');
      expect(Number(rows[0]?.n)).toBeGreaterThan(1000);
    } finally {
      await client.end();
    }
  });

  it('refuses a malformed backup id naming it (exit 2)', async () => {
    const { code, err } = await run('backup', '--id', 'Bad_Id');
    expect(code).toBe(2);
    expect(err).toMatch(/snapshotId/);
    expect(err).toMatch(/Bad_Id/);
  });

  it('takes a backup and shows it, the archive and the restorable window in the status, without the password', async () => {
    const backup = await run('backup', '--id', 'first');
    expect(backup.code).toBe(0);
    expect(backup.out).toMatch(/backup first available/);
    const { code, out } = await run('status');
    expect(code).toBe(0);
    expect(out).toMatch(/source: running on 127\.0\.0\.1:\d+/);
    expect(out).toMatch(/trickle writer: running/);
    expect(out).toMatch(/first {2}available/);
    expect(out).toMatch(/archived WAL: \d+ segment/);
    expect(out).toMatch(/restorable: earliest \d{4}-/);
    const password = new URL((await run('source', 'url')).out.trim().split('\n').at(-1) as string).password;
    expect(out).not.toContain(password);
    expect(backup.out).not.toContain(password);
  });

  it('stops the source and its trickle writer', async () => {
    const paths = statePathsAt(join(dir, 'state'));
    const before = await listProcesses(paths);
    const { code, out } = await run('source', 'stop');
    expect(code).toBe(0);
    expect(out).toBe('source stopped');
    for (const entry of before) expect(isProcessAlive(entry.pid)).toBe(false);
    expect(postgresProcessesUnder(dir)).toEqual([]);
  });

  it('never takes a stale postmaster.pid for the source: stop signals nothing, start starts it', async () => {
    const paths = statePathsAt(join(dir, 'state'));
    // The source crashed and the kernel gave its pid to another process (one of this test's).
    const stranger: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const started = Math.floor(Date.now() / 1000) - 3600;
      writeFileSync(
        join(paths.sourceData, 'postmaster.pid'),
        `${stranger.pid}\n${paths.sourceData}\n${started}\n5432\n\n127.0.0.1\n  1234567    8\nready   \n`,
      );
      const stop = await run('source', 'stop');
      expect(stop.code).toBe(0);
      expect(stop.out).toBe('source was not running');
      const start = await run('source', 'start');
      expect(start.code, start.err).toBe(0);
      expect(start.out).toMatch(/^source started on 127\.0\.0\.1:\d+/);
      expect(start.err).toContain(`postmaster.pid removed, not signalled: pid ${stranger.pid} runs`);
      expect((await run('status')).out).toMatch(/source: running on 127\.0\.0\.1:\d+/);
      await new Promise((r) => setTimeout(r, 200));
      expect(stranger.exitCode).toBeNull();
      expect(stranger.signalCode).toBeNull();
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});
