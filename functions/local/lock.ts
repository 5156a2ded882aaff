/**
 * Lock files for what must not overlap in one state folder (starting or stopping the source, a
 * backup, the reports index) and for "this drill is alive" (cleanup leaves a live drill alone).
 *
 * A lock is a file holding its owner: pid, the kernel's start time of that pid, the command and
 * what it is doing. It appears whole or not at all (written aside, then hard-linked into place:
 * a link fails if the name exists). An owner that is gone, or whose pid now belongs to another
 * process, left a stale lock: it is taken over, under a short-lived guard so that two processes
 * taking over the same stale lock never both win. A lock is released by its owner only; a process
 * that exits holding locks removes them on its way out.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isProcessAlive, processStartTicks } from './processes.ts';
import type { StatePaths } from './state.ts';

/** Who holds a lock (the lock file's content). */
export interface LockOwner {
  readonly pid: number;
  /** The owner's kernel start time: with the pid it names one process for good. */
  readonly processStart: string | null;
  /** What the owner is doing, for the person who waits (`local source start`, `drill <id>`). */
  readonly what: string;
  /** The owner's command line. */
  readonly command: string;
  readonly acquiredAt: string;
  /** Unique per acquisition: a release never removes someone else's lock. */
  readonly token: string;
}

/** The lock stayed held by a live owner for longer than the caller would wait. */
export class LockBusyError extends Error {
  readonly owner: LockOwner;

  constructor(file: string, owner: LockOwner, waitedMs: number) {
    super(
      `${file} is held by pid ${owner.pid} (${owner.what}, since ${owner.acquiredAt}); waited ${Math.round(waitedMs / 1000)} s. ` +
        'Let it finish, or stop that process and run the command again',
    );
    this.name = 'LockBusyError';
    this.owner = owner;
  }
}

export interface LockOptions {
  /** How long to wait for a live owner. @default 30 minutes (a backup of a large source takes a while) */
  readonly waitMs?: number;
  /** Called once when the lock is held by someone else and this call starts waiting. */
  readonly onWait?: (owner: LockOwner) => void;
}

export interface HeldLock {
  readonly file: string;
  readonly owner: LockOwner;
  /** Removes the lock if it is still this holder's. Idempotent. */
  release(): Promise<void>;
}

/** Locks this process holds: removed synchronously if it exits without releasing them. */
const held = new Map<string, string>();
let exitHook = false;

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const [token, file] of held) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as LockOwner).token === token) unlinkSync(file);
      } catch {
        // gone already, or not ours any more
      }
    }
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the owner recorded in a lock is still that process. */
export function ownerAlive(owner: LockOwner): boolean {
  if (!isProcessAlive(owner.pid)) return false;
  const start = processStartTicks(owner.pid);
  return owner.processStart === null || start === null || start === owner.processStart;
}

async function readOwner(file: string): Promise<{ owner: LockOwner | null; text: string } | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    return { owner: Number.isInteger(owner.pid) ? owner : null, text };
  } catch {
    return { owner: null, text };
  }
}

/** The live owner of a lock, or null when it is free or stale. */
export async function lockHolder(file: string): Promise<LockOwner | null> {
  const read = await readOwner(file);
  return read?.owner && ownerAlive(read.owner) ? read.owner : null;
}

/** Writes `owner` aside and links it to `file`: false when `file` exists (someone holds it). */
async function tryCreate(file: string, owner: LockOwner): Promise<boolean> {
  const temp = `${file}.${owner.token}.tmp`;
  await writeFile(temp, `${JSON.stringify(owner)}\n`, { mode: 0o644 });
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Removes a stale lock whose content is still `staleText`, under a guard (`<file>.takeover`), so
 * that of two processes that found the same stale lock only one removes it, and neither removes a
 * lock the other has just taken.
 */
async function takeOver(file: string, staleText: string, me: LockOwner): Promise<void> {
  const guard = `${file}.takeover`;
  if (!(await tryCreate(guard, me))) {
    // Someone else is taking it over; a guard left by a crashed process is cleared after a while.
    const other = await readOwner(guard);
    const age = await stat(guard).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (!other?.owner || !ownerAlive(other.owner) || age > 10_000) await rm(guard, { force: true });
    return;
  }
  try {
    const now = await readOwner(file);
    if (now && now.text === staleText) await unlink(file).catch(() => undefined);
  } finally {
    await rm(guard, { force: true });
  }
}

/**
 * Takes the lock `file`, waiting while a live owner holds it and taking over a stale one.
 * @throws LockBusyError when a live owner holds it longer than `waitMs`.
 */
export async function acquireLock(file: string, what: string, options: LockOptions = {}): Promise<HeldLock> {
  const waitMs = options.waitMs ?? 30 * 60_000;
  await mkdir(dirname(file), { recursive: true });
  const owner: LockOwner = {
    pid: process.pid,
    processStart: processStartTicks(process.pid),
    what,
    command: process.argv.join(' ').slice(0, 500),
    acquiredAt: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  const started = Date.now();
  let told = false;
  for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
    if (await tryCreate(file, owner)) break;
    const current = await readOwner(file);
    if (!current) continue; // released meanwhile
    if (current.owner && ownerAlive(current.owner)) {
      if (Date.now() - started > waitMs) throw new LockBusyError(file, current.owner, Date.now() - started);
      if (!told) {
        told = true;
        options.onWait?.(current.owner);
      }
      await sleep(pause);
      continue;
    }
    await takeOver(file, current.text, owner);
  }
  installExitHook();
  held.set(owner.token, file);
  let released = false;
  return {
    file,
    owner,
    async release() {
      if (released) return;
      released = true;
      held.delete(owner.token);
      const current = await readOwner(file);
      if (current?.owner?.token === owner.token) await rm(file, { force: true });
    },
  };
}

/** Runs `body` holding the lock `file`; releases it however `body` ends. */
export async function withLock<T>(
  file: string,
  what: string,
  body: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const lock = await acquireLock(file, what, options);
  try {
    return await body();
  } finally {
    await lock.release();
  }
}

/**
 * The state folder's lock for the source: starting, stopping and backing it up never overlap, so
 * two commands that start it at once make one source with one writer of each kind.
 */
export function sourceLockFile(paths: Pick<StatePaths, 'locks'>): string {
  return join(paths.locks, 'source.lock');
}

/** Held by a running drill for its whole life: `local cleanup` leaves its instance, app and secret alone. */
export function drillLockFile(paths: Pick<StatePaths, 'locks'>, drillId: string): string {
  return join(paths.locks, `drill-${drillId}.lock`);
}

/** Ids of the drills whose process is alive (their lock is held by a live owner). */
export async function liveDrills(paths: Pick<StatePaths, 'locks'>): Promise<Map<string, LockOwner>> {
  const live = new Map<string, LockOwner>();
  let names: string[];
  try {
    names = await readdir(paths.locks);
  } catch {
    return live;
  }
  for (const name of names) {
    const match = /^drill-(.+)\.lock$/.exec(name);
    if (!match) continue;
    const owner = await lockHolder(join(paths.locks, name));
    if (owner) live.set(match[1] as string, owner);
  }
  return live;
}
