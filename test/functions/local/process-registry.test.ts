/**
 * The process registry's identity rule: a registered pid is ours only while the process holding it
 * started when ours did (the kernel's start time), so a recycled pid is never signalled, and a
 * process that retitled itself (`npm exec` does) is still stopped. Every process here is one this
 * test started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  isRegisteredAlive,
  listProcesses,
  type ProcessEntry,
  processStartTicks,
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
function retitlingProcess(): ChildProcess {
  const child = spawn(
    process.execPath,
    ['-e', "process.title = 'npm exec tsx src/index.ts'; setInterval(() => {}, 1000)"],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  started.push(child);
  return child;
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
});
