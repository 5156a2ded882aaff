/**
 * The source's companions, detached and registered beside it: the writer that plays live traffic
 * (the example's trickle writer, or the app's `trafficCommand` under the traffic runner) and the
 * heartbeat writer whose newest row proves by data how far a restored copy reaches.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, startDetachedScript } from './detached.ts';
import { startHeartbeatProcess } from './heartbeat-process.ts';
import type { AppSourceSpec, SourceOptions } from './source.ts';
import { isRegisteredAlive, listProcesses, type StatePaths, stopRegistered } from './state.ts';

const TRICKLE_SCRIPT = join(PROJECT_ROOT, 'examples', 'bt-cts', 'apps', 'api', 'src', 'trickle.ts');
const TRAFFIC_RUNNER = join(PROJECT_ROOT, 'functions', 'local', 'traffic-runner.ts');

/**
 * The environment of the app's commands on the source: this process's, `app.env` and
 * `local.source.env`, `DATABASE_URL`, and `TZ=UTC` unless configured (an app that computes "today"
 * in its time zone then agrees with the drill's app, which runs in UTC too).
 */
export function appCommandEnv(env: Readonly<Record<string, string>>, databaseUrl: string): NodeJS.ProcessEnv {
  return { ...process.env, TZ: 'UTC', ...env, DATABASE_URL: databaseUrl };
}

/** Starts the writer beside the source: the app's `trafficCommand` for an app source, else the example's trickle writer. */
export async function startTrickle(
  paths: StatePaths,
  url: string,
  app: AppSourceSpec | undefined,
): Promise<void> {
  if (app) {
    if (app.trafficCommand) await startTraffic(paths, url, app, app.trafficCommand);
    return;
  }
  if (!existsSync(TRICKLE_SCRIPT)) return;
  await startDetachedScript(paths, {
    kind: 'trickle',
    id: 'source',
    // The state folder on its command line: what the registry proves the writer by.
    args: [TRICKLE_SCRIPT, paths.root],
    env: { ...process.env, DATABASE_URL: url },
    logFile: join(paths.sourceDir, 'trickle.log'),
    marker: TRICKLE_SCRIPT,
    what: 'the trickle writer',
  });
}

/** The app's `trafficCommand`, kept running (and its output redacted into `source/traffic.log`) by the traffic runner. */
async function startTraffic(
  paths: StatePaths,
  url: string,
  app: AppSourceSpec,
  command: string,
): Promise<void> {
  const logFile = join(paths.sourceDir, 'traffic.log');
  await startDetachedScript(paths, {
    kind: 'trickle',
    id: 'source',
    args: [TRAFFIC_RUNNER, logFile],
    env: {
      ...appCommandEnv(app.env, url),
      RECOVERY_DRILL_TRAFFIC: JSON.stringify({ command, cwd: app.repoPath }),
    },
    logFile,
    stdout: 'ignore',
    marker: logFile,
    group: true,
    what: `the traffic command ${command}`,
  });
}

/** Stops the source's trickle writer, if one runs. */
export async function stopTrickle(paths: StatePaths): Promise<void> {
  for (const entry of await listProcesses(paths)) {
    if (entry.kind === 'trickle') await stopRegistered(paths, entry);
  }
}

/** The source always writes its heartbeat (idempotent: a running writer is left alone). */
export async function startHeartbeat(paths: StatePaths, url: string, options: SourceOptions): Promise<void> {
  await startHeartbeatProcess(paths, {
    databaseUrl: url,
    ...(options.heartbeat
      ? { schema: options.heartbeat.schema, retentionDays: options.heartbeat.retentionDays }
      : {}),
  });
}

/** Whether the source's writer runs. */
export async function trickleRunning(paths: StatePaths): Promise<boolean> {
  return (await listProcesses(paths)).some((e) => e.kind === 'trickle' && isRegisteredAlive(e));
}
