/**
 * The source's companions (the trickle writer, an app's traffic command, the heartbeat writer) are
 * project scripts started detached, so they outlive the CLI as the source does, with their output
 * appended to a log file of the state folder, and registered so that `local source stop` and
 * `local cleanup` can prove them ours and stop them.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterError } from './binaries.ts';
import { type ProcessKind, registerProcess, type StatePaths } from './state.ts';

/** The repository root: where `node --import tsx` resolves tsx from. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface DetachedScript {
  readonly kind: ProcessKind;
  readonly id: string;
  /** The script and its arguments, run as `node --import tsx …`. */
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Appended to (mode 0600); the script's stderr, and its stdout unless `stdout` is `ignore`. */
  readonly logFile: string;
  /** @default 'log' */
  readonly stdout?: 'log' | 'ignore';
  /** What the registry proves the process by (see `ProcessEntry.marker`). */
  readonly marker: string;
  /** It starts children of its own: stop its whole process group. */
  readonly group?: boolean;
  /** For the error when it cannot start: "the trickle writer". */
  readonly what: string;
}

/** @returns the pid of the started, registered script. */
export async function startDetachedScript(paths: StatePaths, script: DetachedScript): Promise<number> {
  await mkdir(dirname(script.logFile), { recursive: true });
  const logFd = openSync(script.logFile, 'a', 0o600);
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', ...script.args], {
      cwd: PROJECT_ROOT,
      detached: true,
      stdio: ['ignore', script.stdout === 'ignore' ? 'ignore' : logFd, logFd],
      env: script.env,
    });
    child.unref();
    if (child.pid === undefined) throw new ClusterError(`could not start ${script.what}`);
    await registerProcess(paths, {
      kind: script.kind,
      id: script.id,
      pid: child.pid,
      dataDir: null,
      port: null,
      marker: script.marker,
      ...(script.group ? { group: true } : {}),
    });
    return child.pid;
  } finally {
    closeSync(logFd);
  }
}
