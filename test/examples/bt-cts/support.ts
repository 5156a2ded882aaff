/**
 * Test support for the BT-CTS stand-in: fresh databases on a real embedded PostgreSQL, and the
 * app's commands run exactly as the drill runs them (child processes, cwd `examples/bt-cts`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { StartedCluster } from '../../../functions/local/cluster.ts';

export const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples/bt-cts');
export const COMMITTED_MIGRATIONS = join(APP_DIR, 'apps/api/prisma/migrations');

/** A new empty database on the cluster, so tests in one file never see each other's rows. */
export async function createDatabase(cluster: StartedCluster): Promise<string> {
  const name = `btcts_${randomBytes(5).toString('hex')}`;
  await query(cluster.url(), `CREATE DATABASE ${name}`);
  return cluster.url(name);
}

export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** A scratch copy of the committed migrations: tests edit the copy, never the committed files. */
export async function copyMigrations(): Promise<{ dir: string; remove(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'btcts-migrations-'));
  const dir = join(root, 'migrations');
  await cp(COMMITTED_MIGRATIONS, dir, { recursive: true });
  return { dir, remove: () => rm(root, { recursive: true, force: true }) };
}

export interface AppProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first stdout/stderr line that matches, rejects when the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code once the process is gone. */
  exited(): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

const running = new Set<AppProcess>();

/** Starts `node --import tsx apps/api/src/<script>` in the app's folder, as the drill's config does. */
export function startApp(
  script: string,
  env: Record<string, string>,
  { ipc = false }: { ipc?: boolean } = {},
): AppProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `apps/api/src/${script}`], {
    cwd: APP_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<number | null>((resolveExit) => {
    child.once('exit', (code, signal) => {
      resolveExit(code ?? (signal ? -1 : null));
      for (const listener of listeners) listener();
    });
  });
  let gone = false;
  void exit.then(() => {
    gone = true;
    running.delete(app);
  });

  const app: AppProcess = {
    child,
    output: () => text,
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolveLine, rejectLine) => {
        const check = () => {
          const line = text.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            done();
            resolveLine(line);
          } else if (gone) {
            done();
            rejectLine(new Error(`${script} exited before printing ${pattern}:\n${text}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          rejectLine(new Error(`${script} did not print ${pattern} within ${timeoutMs} ms:\n${text}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    exited: () => exit,
    async stop(graceMs = 10_000) {
      if (!gone) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        try {
          return await exit;
        } finally {
          clearTimeout(timer);
        }
      }
      return exit;
    },
  };
  running.add(app);
  return app;
}

/** Runs one of the app's commands to completion. */
export async function runApp(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const app = startApp(script, env);
  const code = await app.exited();
  return { code, output: app.output() };
}

/** For afterAll: kills whatever a failed test left running and reports what it had to kill. */
export async function stopAllApps(): Promise<number> {
  const left = [...running];
  await Promise.all(left.map((app) => app.stop(2_000)));
  return left.length;
}

/** True while the process exists (and is not a zombie). */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false>,
  { timeoutMs = 20_000, everyMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The password inside a cluster URL: tests assert it never appears in any output. */
export function passwordOf(url: string): string {
  return decodeURIComponent(new URL(url).password);
}
