/**
 * The app's own commands (migrate, seed, traffic, the app itself) run locally: without a shell,
 * from the app's checkout, with their output in a log file of the state folder. Whatever they
 * print is redacted line by line before it is written (a command may echo its `DATABASE_URL`, and
 * the secrets it was given are masked too), and the last lines are kept for the error that names
 * a failed command, so on-call reads why without opening the log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ExitStatus, splitCommand } from '../core/command.ts';
import { redactCredentials } from '../core/redact.ts';

/** How a process ended. */
export type ProcessExit = ExitStatus;

export interface LoggedCommandOptions {
  /** A command line as configured (quotes honoured; no shell). */
  readonly command: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Appended to (created with mode 0600). */
  readonly logFile: string;
  /** Values masked in the log besides what `redactCredentials` finds (passwords handed over in the environment). */
  readonly secrets?: readonly string[];
  /** Own process group (the command and its children are signalled together). Default false. */
  readonly detached?: boolean;
}

export interface LoggedProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** The command's words, for the process registry's marker. */
  readonly argv: readonly string[];
  readonly startedAt: number;
  readonly exited: Promise<ProcessExit>;
  /** The last lines written to the log (redacted), newest last. */
  tail(lines?: number): string[];
}

const TAIL_LINES = 40;

/** A function that masks credentials and the given secrets in a text. */
export function redactor(secrets: readonly string[] = []): (text: string) => string {
  const literal = secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of literal) out = out.split(secret).join('***');
    return redactCredentials(out);
  };
}

/** The password of a connection URL, if any (so it can be masked in logs). */
export function urlPassword(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password ? [password] : [];
  } catch {
    return [];
  }
}

/**
 * Starts a command with its output going to `logFile`, redacted whole lines at a time (a secret
 * split across two chunks is still masked).
 * @throws when the program cannot be started (not found, no such folder), naming it and the folder.
 */
export async function spawnLogged(options: LoggedCommandOptions): Promise<LoggedProcess> {
  const argv = splitCommand(options.command);
  const [program, ...args] = argv as [string, ...string[]];
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a', mode: 0o600 });
  log.on('error', () => undefined);
  const redact = redactor(options.secrets);
  const lines: string[] = [];
  const pending = { stdout: '', stderr: '' };
  const write = (text: string) => {
    const clean = redact(text);
    // A grandchild that inherited the pipes may print after the command itself has ended.
    if (!log.writableEnded) log.write(clean);
    lines.push(...clean.split('\n').filter((l) => l.trim() !== ''));
    lines.splice(0, Math.max(0, lines.length - TAIL_LINES));
  };
  const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = pending[stream] + chunk.toString('utf8');
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      pending[stream] = text;
      return;
    }
    pending[stream] = text.slice(cut + 1);
    write(text.slice(0, cut + 1));
  };
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  child.stdout?.on('data', onData('stdout'));
  child.stderr?.on('data', onData('stderr'));
  const startError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) {
    const error = await startError;
    log.end();
    throw new Error(`could not start ${program} in ${options.cwd}: ${error.message}`);
  }
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      // The last output may still be in the pipes: wait for them to drain, but not for a
      // grandchild that inherited them and lives on.
      void Promise.race([closed, new Promise((r) => setTimeout(r, 500).unref())]).then(() => {
        for (const stream of ['stdout', 'stderr'] as const) {
          if (pending[stream]) write(`${pending[stream]}\n`);
          pending[stream] = '';
        }
        log.end();
        resolve({ code, signal });
      });
    });
  });
  return {
    pid: child.pid,
    child,
    argv,
    startedAt: Date.now(),
    exited,
    tail: (count = 10) => lines.slice(-count),
  };
}

/** Runs a command to its end. */
export async function runLogged(
  options: LoggedCommandOptions,
): Promise<ProcessExit & { readonly tail: string[] }> {
  const run = await spawnLogged(options);
  const exit = await run.exited;
  return { ...exit, tail: run.tail() };
}
