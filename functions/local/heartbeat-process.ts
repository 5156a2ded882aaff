/**
 * The local engine's heartbeat writer: beside the local source, one beat every minute into
 * `<schema>.heartbeat` of the application database (created first, as its owner), trimmed to the
 * retention, until SIGTERM/SIGINT. The restored copies then carry the same proof an AWS source
 * with the heartbeat function does: the newest beat at or before T is a commit the copy holds.
 *
 * Run detached by {@link startHeartbeatProcess} and registered in the process registry (kind
 * `heartbeat`), as the trickle writer is, so `local cleanup` can always find it.
 *
 * CLI: `DATABASE_URL=... HEARTBEAT_SCHEMA=recovery_drill HEARTBEAT_RETENTION_DAYS=3
 * HEARTBEAT_INTERVAL_MS=60000 node --import tsx functions/local/heartbeat-process.ts`.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { DEFAULT_HEARTBEAT_SCHEMA, heartbeatTableName } from '../core/heartbeat.ts';
import { redactCredentials } from '../core/redact.ts';
import { ensureHeartbeatTable, writeHeartbeat } from '../shared/heartbeat-db.ts';
import { startPeriodicWriter } from '../shared/periodic-writer.ts';
import { startDetachedScript } from './detached.ts';
import { isRegisteredAlive, listProcesses, type StatePaths, stopRegistered } from './state.ts';

/** This file: what the detached process runs, and the marker that proves a pid is ours. */
export const HEARTBEAT_SCRIPT = fileURLToPath(import.meta.url);
/** One beat a minute, as the AWS function's default schedule. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 60_000;
/** The registry id of the source's heartbeat writer (one per source). */
const REGISTRY_ID = 'source';

export interface HeartbeatLoopOptions {
  /** `heartbeat.schema`. @default 'recovery_drill' */
  readonly schema?: string;
  /** `heartbeat.retentionDays`. @default 3 */
  readonly retentionDays?: number;
  /** Pause between beats. @default 60000 */
  readonly intervalMs?: number;
  /** One JSON object per event (start, first beat, outage, recovery, stop); never the URL. @default none */
  readonly log?: (event: Record<string, unknown>) => void;
}

/** A running writer loop. */
export interface HeartbeatLoop {
  /** Beats written so far. */
  readonly beats: () => number;
  /** Finishes the beat in flight, disconnects; idempotent. */
  stop(): Promise<void>;
}

function checkInterval(field: string, value: unknown): number {
  const ms = typeof value === 'string' ? Number(value) : value;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 10 || ms > 3_600_000)
    throw new Error(
      `${field}: expected an integer from 10 to 3600000 (milliseconds); got ${JSON.stringify(value)}`,
    );
  return ms;
}

function describe(error: unknown): string {
  return redactCredentials(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}

/**
 * Writes a beat now and every `intervalMs` after, over one connection that is made again after
 * any failure (a restarted source, a dropped connection); creates the table on each new connection.
 * @throws Error naming the option when `schema`, `retentionDays` or `intervalMs` is out of range.
 */
export function startHeartbeatLoop(databaseUrl: string, options: HeartbeatLoopOptions = {}): HeartbeatLoop {
  const schema = options.schema ?? DEFAULT_HEARTBEAT_SCHEMA;
  heartbeatTableName(schema);
  const retentionDays = options.retentionDays ?? 3;
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 365)
    throw new Error(`retentionDays: expected an integer from 1 to 365; got ${JSON.stringify(retentionDays)}`);
  const intervalMs = checkInterval('intervalMs', options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
  const log = options.log ?? (() => {});

  let beats = 0;
  log({ level: 'info', msg: 'heartbeat started', schema, retentionDays, intervalMs });
  const writer = startPeriodicWriter({
    intervalMs,
    createClient: () =>
      new pg.Client({ connectionString: databaseUrl, application_name: 'recovery-drill-heartbeat' }),
    onConnect: (client) => ensureHeartbeatTable(client, { schema }),
    write: async (client) => {
      const beat = await writeHeartbeat(client, { schema, retentionDays });
      beats += 1;
      if (beats === 1) log({ level: 'info', msg: 'first heartbeat written', at: beat.at.toISOString() });
    },
    log,
    messages: {
      failed: 'heartbeat failed; retrying at the next beat',
      recovered: 'database reachable again, beating',
    },
    describeError: describe,
  });

  let stopped: Promise<void> | undefined;
  return {
    beats: () => beats,
    stop() {
      stopped ??= writer.stop().then(() => log({ level: 'info', msg: 'heartbeat stopped', beats }));
      return stopped;
    },
  };
}

export interface HeartbeatProcessOptions {
  /** The source's application database (it holds the password: passed by environment, never logged). */
  readonly databaseUrl: string;
  /** `heartbeat.schema`. @default 'recovery_drill' */
  readonly schema?: string;
  /** `heartbeat.retentionDays`. @default 3 */
  readonly retentionDays?: number;
  /** @default 60000 */
  readonly intervalMs?: number;
  /** Where the process logs (JSON lines). @default `<paths.sourceDir>/heartbeat.log` */
  readonly logFile?: string;
}

/**
 * Starts the writer detached (it outlives the CLI, as the source does) and registers it (kind
 * `heartbeat`, id `source`). Idempotent: a writer already running is left alone.
 * @returns the writer's pid, and whether this call started it.
 */
export async function startHeartbeatProcess(
  paths: StatePaths,
  options: HeartbeatProcessOptions,
): Promise<{ pid: number; started: boolean }> {
  const running = await runningHeartbeatEntry(paths);
  if (running) return { pid: running.pid, started: false };
  const schema = options.schema ?? DEFAULT_HEARTBEAT_SCHEMA;
  heartbeatTableName(schema);
  const intervalMs = checkInterval('intervalMs', options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
  const pid = await startDetachedScript(paths, {
    kind: 'heartbeat',
    id: REGISTRY_ID,
    // The state folder on its command line: what the registry proves the writer by.
    args: [HEARTBEAT_SCRIPT, paths.root],
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      HEARTBEAT_SCHEMA: schema,
      HEARTBEAT_RETENTION_DAYS: String(options.retentionDays ?? 3),
      HEARTBEAT_INTERVAL_MS: String(intervalMs),
    },
    logFile: options.logFile ?? join(paths.sourceDir, 'heartbeat.log'),
    marker: HEARTBEAT_SCRIPT,
    what: 'the heartbeat writer',
  });
  return { pid, started: true };
}

async function runningHeartbeatEntry(paths: StatePaths) {
  return (await listProcesses(paths)).find((e) => e.kind === 'heartbeat' && isRegisteredAlive(e)) ?? null;
}

/** Whether the source's heartbeat writer runs (registered and still ours). */
export async function heartbeatProcessRunning(paths: StatePaths): Promise<boolean> {
  return (await runningHeartbeatEntry(paths)) !== null;
}

/** Stops the heartbeat writer (SIGTERM: it finishes its beat) and forgets it; true when one was running. */
export async function stopHeartbeatProcess(paths: StatePaths): Promise<boolean> {
  let stopped = false;
  for (const entry of await listProcesses(paths)) {
    if (entry.kind !== 'heartbeat') continue;
    stopped ||= isRegisteredAlive(entry);
    await stopRegistered(paths, entry);
  }
  return stopped;
}

function main(): void {
  const line = (event: Record<string, unknown>) =>
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  const databaseUrl = process.env.DATABASE_URL;
  let loop: HeartbeatLoop;
  try {
    if (!databaseUrl)
      throw new Error('DATABASE_URL is not set (expected postgresql://USER:PASSWORD@HOST:PORT/DB)');
    const days = process.env.HEARTBEAT_RETENTION_DAYS;
    loop = startHeartbeatLoop(databaseUrl, {
      schema: process.env.HEARTBEAT_SCHEMA || DEFAULT_HEARTBEAT_SCHEMA,
      retentionDays: days ? Number(days) : 3,
      intervalMs: checkInterval(
        'HEARTBEAT_INTERVAL_MS',
        process.env.HEARTBEAT_INTERVAL_MS || String(DEFAULT_HEARTBEAT_INTERVAL_MS),
      ),
      log: line,
    });
  } catch (error) {
    line({ level: 'error', msg: describe(error) });
    process.exitCode = 2;
    return;
  }
  const stop = (why: string) => {
    line({ level: 'info', msg: 'stopping', why });
    loop.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main();
}
