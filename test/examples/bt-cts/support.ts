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
import { connectionConfig } from '../../../examples/bt-cts/apps/api/src/db.ts';
import { hashPassword } from '../../../examples/bt-cts/apps/api/src/passwords.ts';
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
  // As the app reads: UTC sessions, Prisma's timestamp(3) columns read as UTC instants.
  const client = new pg.Client(connectionConfig(url, 'bt-cts-test'));
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

/**
 * An HTTP client that keeps the `connect.sid` cookie the app sets, as a browser would, and sends
 * it back on every later request: what the app sees is a real session, nothing else.
 */
export class CookieClient {
  cookie: string | null = null;

  constructor(readonly base: string) {}

  async call(
    path: string,
    init: { method?: string; body?: unknown; cookie?: string | null } = {},
  ): Promise<{ status: number; body: unknown; setCookie: string | null }> {
    const cookie = init.cookie === undefined ? this.cookie : init.cookie;
    const response = await fetch(`${this.base}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(cookie ? { cookie } : {}),
      },
      body:
        init.body === undefined
          ? undefined
          : typeof init.body === 'string'
            ? init.body
            : JSON.stringify(init.body),
    });
    const setCookie = response.headers.get('set-cookie');
    const sid = setCookie?.match(/^(connect\.sid=[^;]+)/)?.[1];
    if (sid) this.cookie = sid;
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text), setCookie };
  }

  login(username: string, password: string) {
    return this.call('/api/auth/login', { body: { username, password } });
  }
}

/** The body of an answer as an object, for field checks. */
export function fields(body: unknown): Record<string, unknown> {
  return (body ?? {}) as Record<string, unknown>;
}

export interface TestUser {
  readonly id: string;
  readonly username: string;
  readonly password: string;
}

/** A user with a known password (a cheap bcrypt cost: the app checks any cost); TELLER, ACTIVE, branch 0001 unless told. */
export async function createUser(
  url: string,
  user: { username: string; role?: string; status?: string; branchCode?: string | null },
): Promise<TestUser> {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const id = `ctest${randomBytes(10).toString('hex')}`;
  await query(
    url,
    `INSERT INTO "User" ("id", "username", "passwordHash", "fullName", "employeeId", "role", "status", "branchCode", "updatedAt")
     VALUES ($1, $2, $3, 'Test User', 'T-1', $4::"UserRole", $5::"UserStatus", $6, CURRENT_TIMESTAMP)`,
    [
      id,
      user.username,
      await hashPassword(password, 4),
      user.role ?? 'TELLER',
      user.status ?? 'ACTIVE',
      user.branchCode === undefined ? '0001' : user.branchCode,
    ],
  );
  return { id, username: user.username, password };
}

/** Local midnight of today (offset in days), as the app computes business dates. */
export function midnight(offsetDays = 0): Date {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + offsetDays);
}
