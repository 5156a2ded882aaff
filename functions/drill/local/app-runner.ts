/**
 * Locally, child processes play the ECS tasks: the app's migrate command and the app itself run
 * from the app checkout against the drill database. Every process is registered before anything
 * waits on it, so `recovery-drill local cleanup` can stop what a crashed drill left.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { splitCommand } from '../../core/command.ts';
import { redactCredentials } from '../../core/redact.ts';
import { freePort } from '../../local/cluster.ts';
import {
  isRegisteredAlive,
  listProcesses,
  registerProcess,
  type StatePaths,
  stopRegistered,
  unregisterProcess,
} from '../../local/state.ts';
import type { AppHandle, AppRunner, DrillSecretStore } from '../ports.ts';

export interface LocalAppRunnerOptions {
  readonly paths: StatePaths;
  readonly appRoot: string;
  readonly migrateCommand: string;
  readonly startCommand: string;
  readonly secrets: DrillSecretStore;
  /** Extra environment for the app (fault injection uses it). */
  readonly extraEnv?: (drillId: string, what: 'migrate' | 'app') => Record<string, string>;
}

export class LocalAppRunner implements AppRunner {
  constructor(private readonly options: LocalAppRunnerOptions) {}

  private logFile(drillId: string, what: string): string {
    return join(this.options.paths.root, 'drills', drillId, `${what}.log`);
  }

  private async spawnTracked(
    drillId: string,
    what: 'migrate' | 'app',
    command: string,
    secretRef: string,
    extra: Record<string, string>,
  ) {
    const [program, ...args] = splitCommand(command);
    const url = await this.options.secrets.connectionUrl(secretRef);
    await mkdir(join(this.options.paths.root, 'drills', drillId), { recursive: true });
    const log = createWriteStream(this.logFile(drillId, what), { flags: 'a' });
    const child = spawn(program as string, args, {
      cwd: this.options.appRoot,
      env: { ...process.env, ...extra, ...this.options.extraEnv?.(drillId, what), DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const tail: string[] = [];
    const onData = (chunk: Buffer) => {
      const text = redactCredentials(chunk.toString('utf8'));
      log.write(text);
      tail.push(...text.split('\n').filter((l) => l.trim() !== ''));
      tail.splice(0, Math.max(0, tail.length - 20));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const pid = child.pid;
    if (pid === undefined) {
      const error = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new Error(`could not start ${program}: ${error.message}`);
    }
    await registerProcess(this.options.paths, {
      kind: 'app',
      id: `${drillId}-${what}`,
      pid,
      dataDir: null,
      port: extra.PORT ? Number(extra.PORT) : null,
      marker: [program, ...args].join(' '),
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.once('exit', (code, signal) => {
        log.end();
        resolve({ code, signal });
      });
    });
    return { pid, exited, tail };
  }

  async migrate(drillId: string, secretRef: string) {
    const run = await this.spawnTracked(drillId, 'migrate', this.options.migrateCommand, secretRef, {});
    const { code, signal } = await run.exited;
    await unregisterProcess(this.options.paths, 'app', `${drillId}-migrate`);
    return {
      exitCode: code ?? 128,
      stoppedReason:
        code === 0
          ? 'Essential container in task exited'
          : `${signal ? `killed by ${signal}; ` : ''}${run.tail.slice(-3).join(' | ')}`,
      taskArn: `local:migrate:${run.pid}`,
    };
  }

  async start(drillId: string, secretRef: string): Promise<AppHandle> {
    const port = await freePort();
    const run = await this.spawnTracked(drillId, 'app', this.options.startCommand, secretRef, {
      PORT: String(port),
    });
    // A process that dies at once (bad command, crash on boot) is a failed start, not a slow one.
    const early = await Promise.race([
      run.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 300).unref()),
    ]);
    if (early) {
      await unregisterProcess(this.options.paths, 'app', `${drillId}-app`);
      throw new Error(
        `the app exited at once with ${early.code ?? early.signal}: ${run.tail.slice(-3).join(' | ')}`,
      );
    }
    return { baseUrl: `http://127.0.0.1:${port}`, handle: `local:app:${run.pid}` };
  }

  async stopAll(drillId: string): Promise<string[]> {
    const stopped: string[] = [];
    for (const entry of await listProcesses(this.options.paths)) {
      if (entry.kind !== 'app' || !entry.id.startsWith(`${drillId}-`)) continue;
      const alive = isRegisteredAlive(entry);
      await stopRegistered(this.options.paths, entry);
      if (alive) stopped.push(`${entry.id} (pid ${entry.pid})`);
    }
    return stopped;
  }
}
