/**
 * What the kernel and a data dir's `postmaster.pid` say about a process: alive or not, when it
 * started, its command line, and whether it is the postmaster of a given data dir. The registry
 * and the locks rely on these to never signal a process that is not ours.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { platform } from 'node:os';
import { join } from 'node:path';

/** True while the process exists and is not a zombie (PID 1 here may never reap orphans). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return platform() !== 'linux';
  }
}

/** What a data dir's `postmaster.pid` says: pid, data dir, start time, port and status (`starting`, `ready`, `standby`, `stopping`). */
export interface PostmasterPidFile {
  readonly pid: number;
  readonly port: number;
  readonly status: string;
  /** Line 2: the data dir the server was started on. */
  readonly dataDir: string | null;
  /** Line 3: when the server started, in Unix seconds. */
  readonly startedAtEpoch: number | null;
}

/** Reads `postmaster.pid`: its pid, port and status (`starting`, `ready`, `standby`, `stopping`). */
export function readPostmasterPid(dataDir: string): PostmasterPidFile | null {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number.parseInt(lines[0] ?? '', 10);
    const port = Number.parseInt(lines[3] ?? '', 10);
    if (!Number.isFinite(pid)) return null;
    const started = Number.parseInt(lines[2] ?? '', 10);
    return {
      pid,
      port,
      status: (lines[7] ?? '').trim(),
      dataDir: lines[1]?.trim() || null,
      startedAtEpoch: Number.isFinite(started) ? started : null,
    };
  } catch {
    return null;
  }
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

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`): 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;
let bootEpoch: number | null | undefined;

/** When a process started, in Unix seconds (boot time plus its start ticks); null without /proc. */
export function processStartEpoch(pid: number): number | null {
  const ticks = processStartTicks(pid);
  if (ticks === null) return null;
  if (bootEpoch === undefined) {
    try {
      const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
      bootEpoch = btime ? Number(btime) : null;
    } catch {
      bootEpoch = null;
    }
  }
  return bootEpoch === null ? null : bootEpoch + Number(ticks) / CLOCK_TICKS;
}

/** A process's command line as its words, or null where it cannot be read (no /proc, gone). */
export function processCommand(pid: number): string[] | null {
  try {
    const words = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (words.at(-1) === '') words.pop();
    return words;
  } catch {
    return null;
  }
}

/**
 * Why `pid` is not the postmaster of `dataDir`, or null when it is: alive, its command line names
 * the data dir, the data dir's `postmaster.pid` (if any) names it, and it did not start after the
 * server that file describes (a pid the kernel handed to someone else since). A `postmaster.pid`
 * alone proves nothing: after a crash it names whoever has that pid now.
 */
export function notPostmasterOf(pid: number, dataDir: string): string | null {
  if (!isProcessAlive(pid)) return `pid ${pid} is not running`;
  const file = readPostmasterPid(dataDir);
  if (file && file.pid !== pid) return `${dataDir}/postmaster.pid names pid ${file.pid}, not ${pid}`;
  if (platform() !== 'linux') return null;
  const command = processCommand(pid);
  if (command !== null && !command.includes(dataDir))
    return `pid ${pid} runs \`${command.join(' ').slice(0, 200)}\`, not a PostgreSQL server of ${dataDir}`;
  const started = processStartEpoch(pid);
  if (file?.startedAtEpoch != null && started !== null && started > file.startedAtEpoch + 2)
    return `pid ${pid} started at ${new Date(started * 1000).toISOString()}, after the server of ${dataDir} did (${new Date(file.startedAtEpoch * 1000).toISOString()}): the pid was reused`;
  return null;
}

/**
 * The data dir's `postmaster.pid` when its pid is proven to be the server of that data dir
 * (see {@link notPostmasterOf}), else null: a stale file never makes a stranger "our server".
 */
export function ownedPostmaster(dataDir: string): PostmasterPidFile | null {
  const file = readPostmasterPid(dataDir);
  if (!file) return null;
  return notPostmasterOf(file.pid, dataDir) === null ? file : null;
}

/** The pids of `root` and every process below it (from each process's parent in `/proc/<pid>/stat`). */
export function processTree(root: number): Set<number> {
  const children = new Map<number, number[]>();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return new Set([root]);
  }
  for (const name of pids) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command may hold spaces and parentheses: the fields after the last ')' are fixed.
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree = new Set<number>([root]);
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop() as number) ?? []) {
      if (tree.has(child)) continue;
      tree.add(child);
      queue.push(child);
    }
  }
  return tree;
}

/** Socket inodes listening on TCP `port` (IPv4 and IPv6, any address), from `/proc/net/tcp{,6}`. */
function listeningInodes(port: number): Set<string> | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  let read = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
      read = true;
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; st 0A is LISTEN; the inode is the tenth field.
      if (fields.length < 10 || fields[3] !== '0A') continue;
      if (fields[1]?.split(':')[1] === hexPort && fields[9]) inodes.add(fields[9]);
    }
  }
  return read ? inodes : null;
}

/**
 * Whether the process that listens on TCP `port` is `root` or one of its descendants (a socket it
 * holds). Lets a drill prove it talks to the app it started, not to another process that took the
 * port first. Where `/proc` cannot say (not Linux), the answer is true: nothing to prove it with.
 */
export function listenerIsInTree(port: number, root: number): boolean {
  const inodes = listeningInodes(port);
  if (inodes === null) return true;
  if (inodes.size === 0) return false;
  for (const pid of processTree(root)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode && inodes.has(inode)) return true;
      } catch {
        // closed meanwhile
      }
    }
  }
  return false;
}
