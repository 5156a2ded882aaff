/**
 * The local engine's state folder and its process registry. Everything the engine creates lives
 * under one folder (`local.stateDir`, default `.recovery-drill/`, gitignored), and every process it
 * starts is written down before anything waits on it, so that a crash or Ctrl-C never leaves a
 * server that `recovery-drill local cleanup` cannot find.
 *
 * The registry is a folder with one JSON file per process rather than one shared file: restores
 * running in parallel (or in two CLI processes) never race on a read-modify-write.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Config } from '../core/config.ts';
import { isProcessAlive, stopServer } from './cluster.ts';

/** Where each part of the local engine's state lives. */
export interface StatePaths {
  readonly root: string;
  readonly sourceDir: string;
  readonly sourceData: string;
  readonly sourceLog: string;
  /** The source's record: port, pid (no secrets). */
  readonly sourceRecord: string;
  /** Passwords (database superuser, the app's admin): mode 0600. */
  readonly credentials: string;
  readonly walArchive: string;
  /** Cache of per-segment commit times read from the archive. */
  readonly walIndex: string;
  /** Moments the engine made the source switch WAL, with the segment each ended (archive coverage). */
  readonly walCoverage: string;
  readonly backups: string;
  readonly instances: string;
  readonly processes: string;
}

/** Resolves `local.stateDir` against the configuration file's folder. */
export function statePaths(config: Pick<Config, 'local'>, baseDir: string): StatePaths {
  const root = isAbsolute(config.local.stateDir)
    ? config.local.stateDir
    : resolve(baseDir, config.local.stateDir);
  return statePathsAt(root);
}

export function statePathsAt(root: string): StatePaths {
  const sourceDir = join(root, 'source');
  return {
    root,
    sourceDir,
    sourceData: join(sourceDir, 'data'),
    sourceLog: join(sourceDir, 'postgres.log'),
    sourceRecord: join(sourceDir, 'source.json'),
    credentials: join(sourceDir, 'credentials.json'),
    walArchive: join(root, 'wal-archive'),
    walIndex: join(root, 'wal-index.json'),
    walCoverage: join(root, 'wal-coverage.json'),
    backups: join(root, 'backups'),
    instances: join(root, 'instances'),
    processes: join(root, 'processes'),
  };
}

/** Writes JSON atomically (temp file + rename), so a crash never leaves half a record. */
export async function writeJson(path: string, value: unknown, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  await rename(temp, path);
}

export async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export function readJsonSync<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** `heartbeat`: the writer of the source's heartbeat table (functions/local/heartbeat-process.ts). */
export type ProcessKind = 'source' | 'trickle' | 'heartbeat' | 'instance' | 'app';

/** One process the engine started. */
export interface ProcessEntry {
  readonly kind: ProcessKind;
  /** Instance id, `source`, or a caller's name. */
  readonly id: string;
  readonly pid: number;
  /** PostgreSQL servers: their data dir (how a pid is proven to still be ours). */
  readonly dataDir: string | null;
  readonly port: number | null;
  /** A string the process's command line contains (how a non-PostgreSQL pid is proven ours). */
  readonly marker: string | null;
  /**
   * It leads its own process group (spawned detached): it is stopped together with the children it
   * started (`npm exec` → `tsx` → `node`), which would otherwise outlive it.
   */
  readonly group?: boolean;
  readonly startedAt: string;
  /**
   * The process's start time as the kernel counts it (`/proc/<pid>/stat`, field 22), read when it
   * was registered: with the pid it names one process for good, so a recycled pid is never taken
   * for ours. It also covers what a command line cannot: `npm exec` retitles itself.
   */
  readonly processStart?: string | null;
}

/** The kernel's start time of a process (clock ticks since boot), or null where there is no /proc. */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "(comm)" come the fields from 3 (state) on: starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function entryFile(paths: StatePaths, kind: ProcessKind, id: string): string {
  return join(paths.processes, `${kind}-${id}.json`);
}

export async function registerProcess(
  paths: StatePaths,
  entry: Omit<ProcessEntry, 'startedAt' | 'processStart'>,
): Promise<void> {
  await writeJson(entryFile(paths, entry.kind, entry.id), {
    ...entry,
    startedAt: new Date().toISOString(),
    processStart: processStartTicks(entry.pid),
  });
}

export async function unregisterProcess(paths: StatePaths, kind: ProcessKind, id: string): Promise<void> {
  await rm(entryFile(paths, kind, id), { force: true });
}

export async function listProcesses(paths: StatePaths): Promise<ProcessEntry[]> {
  let names: string[];
  try {
    names = await readdir(paths.processes);
  } catch {
    return [];
  }
  const entries: ProcessEntry[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const entry = await readJson<ProcessEntry>(join(paths.processes, name));
    if (entry) entries.push(entry);
  }
  return entries;
}

/** Whether the registered process is still running and still the one we started. */
export function isRegisteredAlive(entry: ProcessEntry): boolean {
  if (!isProcessAlive(entry.pid)) return false;
  if (entry.processStart) {
    const start = processStartTicks(entry.pid);
    // Another process now has this pid: not ours, whatever its command line says.
    if (start !== null && start !== entry.processStart) return false;
    // The same process we started; a server is proven by its data dir as well.
    if (start !== null && !entry.dataDir) return true;
  }
  const marker = entry.dataDir ?? entry.marker;
  if (!marker) return true;
  try {
    return readFileSync(`/proc/${entry.pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
  } catch {
    return process.platform !== 'linux';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The process, or for a group leader any live (non-zombie) process of its group, still exists. */
function stillRunning(entry: ProcessEntry): boolean {
  if (!entry.group) return isProcessAlive(entry.pid);
  if (process.platform !== 'linux') {
    try {
      process.kill(-entry.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // After "(comm)": state, ppid, pgrp, ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === entry.pid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // ended while we looked
    }
  }
  return false;
}

/** Stops a registered process (PostgreSQL: fast shutdown; others: SIGTERM, then SIGKILL) and forgets it. */
export async function stopRegistered(paths: StatePaths, entry: ProcessEntry): Promise<void> {
  if (isRegisteredAlive(entry)) {
    if (entry.dataDir) {
      await stopServer(entry.pid, entry.dataDir);
    } else {
      for (const [signal, wait] of [
        ['SIGTERM', 10_000],
        ['SIGKILL', 5_000],
      ] as const) {
        try {
          process.kill(entry.group ? -entry.pid : entry.pid, signal);
        } catch {
          break;
        }
        const deadline = Date.now() + wait;
        while (Date.now() < deadline && stillRunning(entry)) await sleep(25);
        if (!stillRunning(entry)) break;
      }
    }
  }
  await unregisterProcess(paths, entry.kind, entry.id);
}

/**
 * Runs `operation` with SIGINT/SIGTERM turned into an orderly undo: `undo` runs (stop what was
 * started, remove what was half made), then the process exits with 130/143 unless someone else
 * also listens for the signal (a long-running host decides for itself).
 */
export async function withInterruptUndo<T>(
  operation: (signal: AbortSignal) => Promise<T>,
  undo: () => Promise<void>,
): Promise<T> {
  const controller = new AbortController();
  let undoing: Promise<void> | null = null;
  const running = operation(controller.signal);
  const onSignal = (signal: NodeJS.Signals) => {
    if (undoing) return;
    const alone = process.listenerCount(signal) === 1;
    controller.abort(new Error(`interrupted by ${signal}`));
    // Let the operation notice the abort (it kills its copy, stops its server) before undoing.
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    undoing = Promise.race([settled, new Promise((r) => setTimeout(r, 15_000))])
      .then(undo)
      .catch((error) => {
        process.stderr.write(`recovery-drill: cleanup after ${signal} failed: ${String(error)}\n`);
      })
      .finally(() => {
        if (alone) process.exit(signal === 'SIGINT' ? 130 : 143);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await running;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (undoing) await undoing;
  }
}
