/**
 * Locally, child processes play the ECS tasks: the app's migrate command and the app itself run
 * from the app checkout against the drill database. Every process is registered before anything
 * waits on it, so `recovery-drill local cleanup` can stop what a crashed drill left.
 *
 * The app is watched for as long as it runs: one that dies before it listens fails its start with
 * its exit code and the last lines of its log, and one that dies later is reported by the smoke
 * check that is running (through `exited`) at once, not after the readiness budget of refused
 * connections.
 */
import { createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { describeExit, formatTail } from '../../../core/command.ts';
import { freePort } from '../../../local/cluster.ts';
import { type LoggedProcess, spawnLogged, urlPassword } from '../../../local/logged-command.ts';
import { listenerIsInTree } from '../../../local/processes.ts';
import {
  drillMarker,
  isRegisteredAlive,
  listProcesses,
  MARKER_ENV,
  registerProcess,
  type StatePaths,
  stopRegistered,
  unregisterProcess,
} from '../../../local/state.ts';
import type {
  AppExit,
  AppHandle,
  AppRunner,
  DrillSecretStore,
  MigrateTaskResult,
  MigrationRunner,
} from '../../ports/drill-deps.ts';

export interface LocalAppRunnerOptions {
  readonly paths: StatePaths;
  readonly appRoot: string;
  readonly migrateCommand: string;
  readonly startCommand: string;
  readonly secrets: DrillSecretStore;
  /** `app.env`: extra environment of the migrate command and the app (`TZ` here wins over the default UTC). */
  readonly env?: Readonly<Record<string, string>>;
  /** `app.port`: the app's `PORT`; a free port is taken instead when it is busy. */
  readonly port: number;
  /** How long the app may take to listen on its port before its start fails (`smoke.readyBudgetSeconds`). */
  readonly listenTimeoutSeconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether nothing listens on `port` (on any address): a listen on the wildcard address succeeds. */
export function portIsFree(port: number): Promise<boolean> {
  const attempt = (host: string | undefined) =>
    new Promise<boolean | 'no-ipv6'>((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', (error: NodeJS.ErrnoException) =>
        resolve(error.code === 'EAFNOSUPPORT' || error.code === 'EADDRNOTAVAIL' ? 'no-ipv6' : false),
      );
      server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
    });
  return attempt(undefined).then((free) =>
    free === 'no-ipv6' ? attempt('0.0.0.0').then((f) => f === true) : free,
  );
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

interface RunningApp {
  readonly run: LoggedProcess;
  readonly logFile: string;
  /** Set by `stopAll`: the exit that follows is ours, not the app's failure. */
  stopping: boolean;
  /** Resolves when the app ends without being stopped. */
  readonly unexpected: Promise<AppExit>;
}

export class LocalAppRunner implements AppRunner, MigrationRunner {
  private readonly apps = new Map<string, RunningApp>();

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
  ): Promise<LoggedProcess> {
    const url = await this.options.secrets.connectionUrl(secretRef);
    // The app's command line is generic (`npm start`, another checkout runs the same): the marker
    // in its environment, unique to this state folder and drill, is what proves a pid is this drill's.
    const marker = drillMarker(this.options.paths, drillId);
    const run = await spawnLogged({
      command,
      cwd: this.options.appRoot,
      env: {
        ...process.env,
        // The app computes "today" in its time zone (BT-CTS does): UTC unless app.env says otherwise.
        TZ: 'UTC',
        ...this.options.env,
        ...extra,
        DATABASE_URL: url,
        [MARKER_ENV]: marker,
      },
      logFile: this.logFile(drillId, what),
      secrets: urlPassword(url),
      detached: true,
    });
    await registerProcess(this.options.paths, {
      kind: 'app',
      id: `${drillId}-${what}`,
      pid: run.pid,
      dataDir: null,
      port: extra.PORT ? Number(extra.PORT) : null,
      marker: null,
      command: run.argv,
      envMarker: marker,
      drillId,
      group: true,
    });
    return run;
  }

  async migrate(drillId: string, secretRef: string): Promise<MigrateTaskResult> {
    const run = await this.spawnTracked(drillId, 'migrate', this.options.migrateCommand, secretRef, {});
    const { code, signal } = await run.exited;
    await unregisterProcess(this.options.paths, 'app', `${drillId}-migrate`);
    return {
      exitCode: code ?? 128,
      stoppedReason:
        code === 0
          ? 'Essential container in task exited'
          : `${signal ? `killed by ${signal}; ` : ''}${run.tail(3).join(' | ')}`,
      taskArn: `local:migrate:${run.pid}`,
    };
  }

  async start(drillId: string, secretRef: string): Promise<AppHandle> {
    const wanted = this.options.port;
    // Started means listening: a process that dies first (bad command, crash on boot) is a failed
    // start with its own words, not a slow one.
    const deadline = Date.now() + this.options.listenTimeoutSeconds * 1000;
    let port = (await portIsFree(wanted)) ? wanted : await freePort();
    for (let attempt = 1; ; attempt++) {
      const launched = await this.launch(drillId, secretRef, port, deadline);
      if ('pid' in launched)
        return {
          baseUrl: `http://127.0.0.1:${port}`,
          handle: `local:app:${launched.pid}`,
          ...(port === wanted ? {} : { note: `app.port ${wanted} is busy: PORT=${port}` }),
        };
      // Another process took the port first and the app died of it: a new free port, twice at most.
      if (attempt >= 3) throw launched.lostPort;
      port = await freePort();
    }
  }

  /**
   * Starts the app on `port` and waits until it listens there itself.
   * @returns its pid, or `lostPort` when another process took the port first and the app died of it.
   */
  private async launch(
    drillId: string,
    secretRef: string,
    port: number,
    deadline: number,
  ): Promise<{ pid: number } | { lostPort: Error }> {
    const run = await this.spawnTracked(drillId, 'app', this.options.startCommand, secretRef, {
      PORT: String(port),
    });
    const logFile = this.logFile(drillId, 'app');
    const exitOf = (exit: { code: number | null; signal: string | null }): AppExit => ({
      code: exit.code,
      signal: exit.signal,
      afterSeconds: Math.round((Date.now() - run.startedAt) / 100) / 10,
      logFile,
      logTail: run.tail(),
    });
    const app: RunningApp = {
      run,
      logFile,
      stopping: false,
      unexpected: new Promise((resolve) => {
        void run.exited.then((exit) => {
          if (!app.stopping) resolve(exitOf(exit));
        });
      }),
    };
    this.apps.set(drillId, app);
    const died = app.unexpected.then((exit) => ({ exit }));
    // Something else may take the port between the check above and the app's own listen (another
    // drill's app, anything): the checks must talk to the app this drill started, so a listener
    // counts only when it is the app's process or one of its children.
    let stranger = false;
    const strangerNote = () =>
      stranger ? ` (another process, not the app this drill started, listens on 127.0.0.1:${port})` : '';
    for (;;) {
      const outcome = await Promise.race([died, accepts(port).then((listening) => ({ listening }))]);
      if ('exit' in outcome) {
        await unregisterProcess(this.options.paths, 'app', `${drillId}-app`);
        const error = new Error(
          `the app ${describeExit(outcome.exit)} ${outcome.exit.afterSeconds} s after it started, before it listened on 127.0.0.1:${port}${strangerNote()}; ${formatTail(logFile, outcome.exit.logTail)}`,
        );
        if (stranger) return { lostPort: error };
        throw error;
      }
      if (outcome.listening && listenerIsInTree(port, run.pid)) break;
      if (outcome.listening) stranger = true;
      if (Date.now() > deadline)
        throw new Error(
          `\`${this.options.startCommand}\` did not listen on 127.0.0.1:${port} within ${this.options.listenTimeoutSeconds} s ` +
            `(it must listen on the port given in PORT)${strangerNote()}; ${formatTail(logFile, run.tail())}`,
        );
      await Promise.race([sleep(100), died]);
    }
    return { pid: run.pid };
  }

  exited(drillId: string): Promise<AppExit> | null {
    return this.apps.get(drillId)?.unexpected ?? null;
  }

  async stopAll(drillId: string): Promise<string[]> {
    const app = this.apps.get(drillId);
    if (app) app.stopping = true;
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
