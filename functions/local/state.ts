/**
 * The local engine's state folder and its process registry. Everything the engine creates lives
 * under one folder (`local.stateDir`, default `.recovery-drill/`, gitignored), and every process it
 * starts is written down before anything waits on it, so that a crash or Ctrl-C never leaves a
 * server that `recovery-drill local cleanup` cannot find.
 *
 * The registry is a folder with one JSON file per process rather than one shared file: restores
 * running in parallel (or in two CLI processes) never race on a read-modify-write.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Config } from '../core/config.ts';
import { InputError } from '../core/errors.ts';
import { stopServer } from './cluster.ts';
import { isProcessAlive, notPostmasterOf, processCommand, processStartTicks } from './processes.ts';
import { type Repository, type RepositoryName, repositoryAt } from './repositories.ts';
import { DamagedStateError, DEFAULT_ADVICE, readJson, writeJson } from './state-json.ts';

export { processStartTicks } from './processes.ts';

/** Where each part of the local engine's state lives. */
export interface StatePaths {
  readonly root: string;
  /** The repository the backup and WAL fields below point into (see {@link repositoryView}). */
  readonly repository: RepositoryName;
  /** The state folder's repository: what the source archives into first. */
  readonly primary: Repository;
  /** The isolated copy (`local.isolatedDir`); null only for a bare folder opened by tests or tools. */
  readonly isolated: Repository | null;
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
  /** One folder per drill: its logs (the report's evidence) and, while it runs, its 0600 secret. */
  readonly drills: string;
  /** Lock files of what must not overlap (`source.lock`, `drill-<id>.lock`): see lock.ts. */
  readonly locks: string;
}

/**
 * Resolves `local.stateDir` and `local.isolatedDir` against the configuration file's folder.
 * @throws InputError naming `local.isolatedDir` when it is inside the state folder or holds it:
 *   one folder lost (or removed by `local source start` starting over) must not take the other.
 */
export function statePaths(config: Pick<Config, 'local'>, baseDir: string): StatePaths {
  const root = isAbsolute(config.local.stateDir)
    ? config.local.stateDir
    : resolve(baseDir, config.local.stateDir);
  return statePathsAt(root, isolatedDirOf(config, baseDir, root));
}

/** The isolated copy's folder: `local.isolatedDir`, or `<stateDir>-isolated` beside the state folder. */
function isolatedDirOf(config: Pick<Config, 'local'>, baseDir: string, root: string): string {
  const given = config.local.isolatedDir;
  if (given === null) return `${root}-isolated`;
  const dir = isAbsolute(given) ? resolve(given) : resolve(baseDir, given);
  const within = (inner: string, outer: string) => {
    const rel = relative(outer, inner);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  if (within(dir, root) || within(root, dir))
    throw new InputError(
      'local.isolatedDir',
      given,
      `a folder neither inside the state folder ${root} (local.stateDir) nor holding it (it resolves to ${dir}): the isolated copy must survive the loss of the state folder`,
    );
  return dir;
}

export function statePathsAt(root: string, isolatedDir: string | null = null): StatePaths {
  const sourceDir = join(root, 'source');
  const primary = repositoryAt(root);
  return {
    root,
    repository: 'primary',
    primary,
    isolated: isolatedDir === null ? null : repositoryAt(isolatedDir),
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
    drills: join(root, 'drills'),
    locks: join(root, 'locks'),
  };
}

/** `heartbeat`: the writer of the source's heartbeat table (functions/local/heartbeat-process.ts). */
export type ProcessKind = 'source' | 'trickle' | 'heartbeat' | 'instance' | 'app';

/** The environment variable that marks a process as one a drill started: `<state folder>#<drill id>`. */
export const MARKER_ENV = 'RECOVERY_DRILL_MARKER';

/** The marker of a drill's processes (its migrate command and its app): unique to the state folder and the drill. */
export function drillMarker(paths: StatePaths, drillId: string): string {
  return `${paths.root}#${drillId}`;
}

/** One process the engine started. */
export interface ProcessEntry {
  readonly kind: ProcessKind;
  /** Instance id, `source`, or a caller's name. */
  readonly id: string;
  readonly pid: number;
  /** PostgreSQL servers: their data dir (how a pid is proven to still be ours). */
  readonly dataDir: string | null;
  readonly port: number | null;
  /** A string the process's command line contains (entries written before `command` existed). */
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
  /**
   * Its full command line when it was registered (it names the state folder: a data dir, a log,
   * the folder itself). A server or writer whose command line is no longer this is not ours.
   */
  readonly command?: readonly string[] | null;
  /**
   * The value of {@link MARKER_ENV} it was started with (a drill's migrate command and app, whose
   * command line is the app's generic one): checked in `/proc/<pid>/environ` where readable.
   */
  readonly envMarker?: string | null;
  /** The drill it belongs to (a drill's app and migrate command): cleanup leaves a live drill's processes alone. */
  readonly drillId?: string | null;
}

function entryFile(paths: StatePaths, kind: ProcessKind, id: string): string {
  return join(paths.processes, `${kind}-${id}.json`);
}

/**
 * Writes a process down with what proves it ours later: its kernel start time and its command
 * line as the kernel shows it (falling back to `command`, the words it was spawned with).
 */
export async function registerProcess(
  paths: StatePaths,
  entry: Omit<ProcessEntry, 'startedAt' | 'processStart'>,
): Promise<void> {
  await writeJson(entryFile(paths, entry.kind, entry.id), {
    ...entry,
    command: processCommand(entry.pid) ?? entry.command ?? null,
    envMarker: entry.envMarker ?? null,
    startedAt: new Date().toISOString(),
    processStart: processStartTicks(entry.pid),
  });
}

export async function unregisterProcess(paths: StatePaths, kind: ProcessKind, id: string): Promise<void> {
  await rm(entryFile(paths, kind, id), { force: true });
}

/** A registry file that is not a process entry: reported and removed, never acted on. */
export interface DamagedEntry {
  readonly file: string;
  readonly problem: string;
}

/** The registry: every readable entry, and every file that is not one (torn, garbled, not an entry). */
export async function readRegistry(
  paths: StatePaths,
): Promise<{ entries: ProcessEntry[]; damaged: DamagedEntry[] }> {
  let names: string[];
  try {
    names = await readdir(paths.processes);
  } catch {
    return { entries: [], damaged: [] };
  }
  const entries: ProcessEntry[] = [];
  const damaged: DamagedEntry[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = join(paths.processes, name);
    try {
      const entry = await readJson<ProcessEntry>(file);
      if (!entry) continue;
      if (!Number.isInteger(entry.pid) || entry.pid <= 1 || typeof entry.kind !== 'string')
        throw new DamagedStateError(file, 'not a process entry (no pid and kind)', DEFAULT_ADVICE);
      entries.push(entry);
    } catch (error) {
      damaged.push({
        file,
        problem: error instanceof DamagedStateError ? error.problem : (error as Error).message,
      });
    }
  }
  return { entries, damaged };
}

/** Every readable registry entry; a damaged file is left out (never signalled: see {@link readRegistry}). */
export async function listProcesses(paths: StatePaths): Promise<ProcessEntry[]> {
  return (await readRegistry(paths)).entries;
}

function environOf(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return null;
  }
}

/**
 * Why a registered process is not (or no longer) the one we started, or null when it is: the pid
 * is alive and started when ours did; a server is the postmaster of its data dir; a drill's
 * process carries the drill's marker in its environment; any other still has the command line it
 * was registered with. Entries written before start times were recorded fall back to the marker.
 */
export function whyNotOurs(entry: ProcessEntry): string | null {
  const { pid } = entry;
  if (!isProcessAlive(pid)) return `pid ${pid} is not running`;
  const now = processCommand(pid);
  const shown = now ? `\`${now.join(' ').slice(0, 160)}\`` : 'another process';
  const start = processStartTicks(pid);
  if (entry.processStart && start !== null && start !== entry.processStart)
    return `pid ${pid} now belongs to another process (${shown}, started after ours)`;
  if (entry.dataDir) {
    const why = notPostmasterOf(pid, entry.dataDir);
    if (why) return why;
  }
  if (entry.envMarker) {
    const environ = environOf(pid);
    if (environ !== null && !environ.includes(`${MARKER_ENV}=${entry.envMarker}`))
      return `pid ${pid} (${shown}) does not carry this drill's ${MARKER_ENV}=${entry.envMarker}`;
    return null;
  }
  if (entry.command && entry.processStart && start !== null) {
    if (entry.kind === 'app' || now === null || now.join('\0') === entry.command.join('\0')) return null;
    return `pid ${pid} runs ${shown}, not \`${entry.command.join(' ').slice(0, 160)}\``;
  }
  // Written before command lines were recorded: the start time, else the marker, decides.
  if (entry.processStart && start !== null && (!entry.dataDir || entry.kind === 'app')) return null;
  const marker = entry.dataDir ?? entry.marker;
  if (!marker || entry.dataDir) return null;
  if (now === null) return process.platform !== 'linux' ? null : `pid ${pid} cannot be inspected`;
  return now.join(' ').includes(marker) ? null : `pid ${pid} runs ${shown}, which does not contain ${marker}`;
}

/** Whether the registered process is still running and still the one we started (see {@link whyNotOurs}). */
export function isRegisteredAlive(entry: ProcessEntry): boolean {
  return whyNotOurs(entry) === null;
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

/** What became of a registered process: stopped, already gone, or not ours (not signalled). */
export type StopOutcome =
  | { readonly outcome: 'stopped' }
  | { readonly outcome: 'not-running'; readonly why: string }
  | { readonly outcome: 'stale'; readonly why: string };

/**
 * Stops a registered process (PostgreSQL: fast shutdown; others: SIGTERM, then SIGKILL) and
 * forgets it. A process that is not proven ours ({@link whyNotOurs}) is never signalled: its entry
 * is removed and the outcome says why ("stale entry, not signalled").
 */
export async function stopRegistered(paths: StatePaths, entry: ProcessEntry): Promise<StopOutcome> {
  const why = whyNotOurs(entry);
  let outcome: StopOutcome;
  if (why !== null) {
    outcome = isProcessAlive(entry.pid) ? { outcome: 'stale', why } : { outcome: 'not-running', why };
  } else {
    outcome = { outcome: 'stopped' };
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
  return outcome;
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
