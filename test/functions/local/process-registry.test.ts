/**
 * The process registry's identity rule: a registered pid is ours only while the process holding it
 * started when ours did (the kernel's start time), so a recycled pid is never signalled, and a
 * process that retitled itself (`npm exec` does) is still stopped. A drill's process is proven by
 * the marker in its environment, a server by its data dir, anything else by its command line; a
 * stale `postmaster.pid` proves nothing. Every process here is one this test started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../bin/cli.ts';
import { stopServer } from '../../../functions/local/cluster.ts';
import { notPostmasterOf, ownedPostmaster, processStartEpoch } from '../../../functions/local/processes.ts';
import {
  drillMarker,
  isRegisteredAlive,
  listProcesses,
  MARKER_ENV,
  type ProcessEntry,
  processStartTicks,
  readRegistry,
  registerProcess,
  statePathsAt,
  stopRegistered,
} from '../../../functions/local/state.ts';

const started: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A process of this test's own that renames itself, as `npm exec` does (`process.title`). */
function retitlingProcess(env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(
    process.execPath,
    ['-e', "process.title = 'npm exec tsx src/index.ts'; setInterval(() => {}, 1000)"],
    {
      stdio: 'ignore',
      detached: true,
      env,
    },
  );
  started.push(child);
  return child;
}

/** A process of this test's own that stands in for "whoever has that pid now". */
function stranger(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  started.push(child);
  return child;
}

const untouched = async (child: ChildProcess) => {
  await new Promise((r) => setTimeout(r, 200));
  expect(child.exitCode).toBeNull();
  expect(child.signalCode).toBeNull();
};

/**
 * A data dir's `postmaster.pid` as PostgreSQL writes it (pid, data dir, start time, port, socket
 * dir, listen address, shared memory key, status), for a server that started `ageSeconds` ago.
 */
function postmasterPid(dataDir: string, pid: number, ageSeconds: number): void {
  mkdirSync(dataDir, { recursive: true });
  const started = Math.floor(Date.now() / 1000) - ageSeconds;
  writeFileSync(
    join(dataDir, 'postmaster.pid'),
    `${pid}\n${dataDir}\n${started}\n5432\n\n127.0.0.1\n  1234567    8\nready   \n`,
  );
}

function paths() {
  const dir = mkdtempSync(join(tmpdir(), 'rd-registry-'));
  dirs.push(dir);
  return statePathsAt(dir);
}

async function entryOf(root: ReturnType<typeof paths>, id: string): Promise<ProcessEntry> {
  const entry = (await listProcesses(root)).find((e) => e.id === id);
  if (!entry) throw new Error(`no registry entry ${id}`);
  return entry;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

describe('process registry identity', () => {
  it('records the start time and stops a process whose command line it retitled, group and all', async () => {
    const root = paths();
    const child = retitlingProcess();
    await new Promise((r) => setTimeout(r, 300));
    const pid = child.pid as number;
    await registerProcess(root, {
      kind: 'app',
      id: 'd1-app',
      pid,
      dataDir: null,
      port: null,
      marker: `${process.execPath} -e the command it was started with`,
      group: true,
    });
    const entry = await entryOf(root, 'd1-app');
    expect(entry.processStart).toBe(processStartTicks(pid));
    expect(isRegisteredAlive(entry)).toBe(true);
    await stopRegistered(root, entry);
    await exited(child);
    expect(child.signalCode).toBe('SIGTERM');
    expect(await listProcesses(root)).toEqual([]);
  });

  it('never signals a process that now holds a registered pid but started at another time', async () => {
    const root = paths();
    const stranger = retitlingProcess();
    await new Promise((r) => setTimeout(r, 300));
    const pid = stranger.pid as number;
    await registerProcess(root, { kind: 'app', id: 'd2-app', pid, dataDir: null, port: null, marker: null });
    // The entry as it would read had our process died and the kernel handed its pid to this one.
    const file = join(root.processes, 'app-d2-app.json');
    const recorded = JSON.parse(await readFile(file, 'utf8')) as ProcessEntry;
    await writeFile(
      file,
      JSON.stringify({ ...recorded, processStart: String(Number(recorded.processStart) - 1) }),
    );
    const stale = await entryOf(root, 'd2-app');
    expect(isRegisteredAlive(stale)).toBe(false);
    await stopRegistered(root, stale);
    // The stale entry is gone; the stranger was not touched.
    expect(await listProcesses(root)).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    expect(stranger.exitCode).toBeNull();
    expect(stranger.signalCode).toBeNull();
  });

  it('proves a drill process by the marker in its environment, not by its command line', async () => {
    const root = paths();
    const marker = drillMarker(root, 'd3');
    const ours = retitlingProcess({ ...process.env, [MARKER_ENV]: marker });
    // Same command line, another drill (another checkout's app): not ours.
    const other = retitlingProcess({ ...process.env, [MARKER_ENV]: drillMarker(root, 'elsewhere') });
    await new Promise((r) => setTimeout(r, 300));
    for (const [id, child] of [
      ['d3-app', ours],
      ['d3-migrate', other],
    ] as const) {
      await registerProcess(root, {
        kind: 'app',
        id,
        pid: child.pid as number,
        dataDir: null,
        port: null,
        marker: null,
        envMarker: marker,
        drillId: 'd3',
        group: true,
      });
    }
    const entries = await listProcesses(root);
    const mine = entries.find((e) => e.id === 'd3-app') as ProcessEntry;
    const theirs = entries.find((e) => e.id === 'd3-migrate') as ProcessEntry;
    expect(mine.command).toEqual(expect.arrayContaining([expect.any(String)]));
    expect(isRegisteredAlive(mine)).toBe(true);
    const outcome = await stopRegistered(root, theirs);
    expect(outcome).toEqual({
      outcome: 'stale',
      why: expect.stringContaining(`does not carry this drill's ${MARKER_ENV}=${marker}`),
    });
    await untouched(other);
    expect(await stopRegistered(root, mine)).toEqual({ outcome: 'stopped' });
    await exited(ours);
    expect(await listProcesses(root)).toEqual([]);
  });

  it('never takes a stale postmaster.pid for a server: the pid belongs to a process that started later', async () => {
    const root = paths();
    const other = stranger();
    await new Promise((r) => setTimeout(r, 200));
    const pid = other.pid as number;
    const dataDir = join(root.instances, 'gone', 'data');
    // Written by a server that started an hour ago and crashed; the kernel gave its pid to `other`.
    postmasterPid(dataDir, pid, 3600);
    expect(processStartEpoch(pid)).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(notPostmasterOf(pid, dataDir)).toMatch(new RegExp(`pid ${pid} runs .*not a PostgreSQL server of`));
    expect(ownedPostmaster(dataDir)).toBeNull();
    expect(await stopServer(pid, dataDir, { timeoutMs: 1000 })).toBe(false);
    await untouched(other);
  });

  it('local cleanup lists stale entries and a damaged one, signals none of them, and removes them', async () => {
    const root = paths();
    const other = stranger();
    await new Promise((r) => setTimeout(r, 200));
    const pid = other.pid as number;
    // An app entry whose pid now belongs to `other` (it started after ours), and an instance whose
    // postmaster.pid names it.
    await registerProcess(root, {
      kind: 'app',
      id: 'd4-app',
      pid,
      dataDir: null,
      port: null,
      marker: null,
      envMarker: drillMarker(root, 'd4'),
      drillId: 'd4',
    });
    const file = join(root.processes, 'app-d4-app.json');
    const recorded = JSON.parse(await readFile(file, 'utf8')) as ProcessEntry;
    await writeFile(
      file,
      JSON.stringify({ ...recorded, processStart: String(Number(recorded.processStart) - 7) }),
    );
    postmasterPid(join(root.instances, 'old', 'data'), pid, 3600);
    writeFileSync(join(root.processes, 'instance-torn.json'), '{"kind":"instance","pid":');
    mkdirSync(join(root.drills, 'd4'), { recursive: true });
    writeFileSync(join(root.drills, 'd4', 'secret.json'), '{"url":"postgres://postgres:pw@127.0.0.1:1/x"}');
    const config = join(root.root, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        source: { dbInstanceIdentifier: 'bt-cts-test', region: 'eu-west-1' },
        isolation: { copyRegion: 'eu-central-1' },
        local: { stateDir: root.root },
      }),
    );
    const out: string[] = [];
    const code = await main(['local', 'cleanup', '--config', config], {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      env: {},
      cwd: root.root,
    });
    const text = out.join('\n');
    expect(code, text).toBe(0);
    expect(text).toContain('removed 1 restored instance(s): old');
    expect(text).toMatch(
      new RegExp(
        `stale entry, not signalled: app d4-app \\(pid ${pid}\\): pid ${pid} now belongs to another process`,
      ),
    );
    expect(text).toContain(
      `damaged registry file removed, nothing signalled: ${join(root.processes, 'instance-torn.json')}`,
    );
    expect(text).toContain('removed leftover drill secret(s): drills/d4/secret.json');
    expect(await readRegistry(root)).toEqual({ entries: [], damaged: [] });
    await untouched(other);
  });
});
