/**
 * The whole restore drill, end to end: the state machine synthesized from the stack's construct,
 * run by aws-local-stepfunctions against a real embedded PostgreSQL (a WAL-archiving source,
 * a real point-in-time restore), the example app's real migrate command and HTTP API, with a real
 * fault injected for every escalation class.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../bin/cli.ts';
import type { ConfigInput } from '../../../functions/core/config.ts';
import { DRILL_STEPS } from '../../../functions/core/escalations.ts';
import { drillInstanceId } from '../../../functions/drill/drill-id.ts';
import { FAULTS, type FaultName } from '../../../functions/drill/drivers/local/faults.ts';
import { runLocalDrill } from '../../../functions/drill/drivers/local/run.ts';
import { localEngine, prepareSource } from '../../../functions/local/engine.ts';
import { startHeartbeatProcess, stopHeartbeatProcess } from '../../../functions/local/heartbeat-process.ts';
import { isProcessAlive } from '../../../functions/local/processes.ts';
import { readCredentials } from '../../../functions/local/source.ts';
import { listProcesses, type ProcessEntry, stopRegistered } from '../../../functions/local/state.ts';
import { type LoadedConfig, loadConfig } from '../../../functions/shared/config-file.ts';
import { drillDefinition } from '../../../lib/drill/definition.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The committed configuration (the example app's). */
function committed(): ConfigInput {
  return JSON.parse(readFileSync(join(REPO, 'recovery-drill.config.json'), 'utf8')) as ConfigInput;
}

function writeConfig(dir: string, name: string, overrides: Partial<ConfigInput> = {}): LoadedConfig {
  const committed = JSON.parse(readFileSync(join(REPO, 'recovery-drill.config.json'), 'utf8')) as ConfigInput;
  const config: ConfigInput = {
    ...committed,
    app: { ...committed.app, repoPath: join(REPO, 'examples', 'bt-cts') },
    local: { stateDir: join(dir, 'state'), archiveTimeoutSeconds: 2, backupMaxAgeHours: 24 },
    smoke: { readyBudgetSeconds: 8 },
    ...overrides,
  };
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return loadConfig({ explicitPath: path });
}

/** What a failed expectation shows: the progress lines and each step's outcome. */
function explain(result: {
  lines: string[];
  report: { steps: { name: string; outcome: string; detail: string }[] } | null;
}): string {
  const steps = result.report?.steps.map((s) => `${s.name}: ${s.outcome}: ${s.detail}`) ?? [];
  return [...result.lines, ...steps].join('\n');
}

/** PostgreSQL and app processes whose command line mentions this folder. */
function processesUnder(dir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(dir) && !line.includes(' ps -eo'))
    .map((line) => line.trim());
}

describe('local restore drill', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recovery-drill-e2e-'));
  // PostgreSQL runs as the OS user postgres under root: it must be able to reach its folders.
  chmodSync(dir, 0o755);
  let loaded: LoadedConfig;
  let definition: Record<string, unknown>;

  beforeAll(async () => {
    loaded = writeConfig(dir, 'config.json');
    definition = drillDefinition(loaded.config, loaded.baseDir);
    const engine = localEngine(loaded.config, loaded.baseDir);
    await prepareSource(engine, loaded.config, () => undefined);
    // The heartbeat a local drill expects beside its source (started by this test; idempotent, so
    // a writer the source started itself is left alone).
    await startHeartbeatProcess(engine.paths, {
      databaseUrl: (await engine.sourceUrl()) as string,
      schema: loaded.config.heartbeat.schema,
      retentionDays: loaded.config.heartbeat.retentionDays,
    });
    // Let the trickle writer and the archiver put a few seconds of history after the backup.
    await sleep(4000);
  }, 240_000);

  afterAll(async () => {
    const engine = localEngine(loaded.config, loaded.baseDir);
    await engine.cleanup();
    await stopHeartbeatProcess(engine.paths);
    await engine.stopSource();
    const left = processesUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    expect(left).toEqual([]);
  }, 120_000);

  async function drill(options: {
    input?: Record<string, unknown>;
    inject?: FaultName;
    config?: LoadedConfig;
    keep?: boolean;
    restoreTimeoutSeconds?: number;
  }) {
    const lines: string[] = [];
    const result = await runLocalDrill({
      loaded: options.config ?? loaded,
      definition,
      input: options.input ?? {},
      inject: options.inject ?? null,
      keep: options.keep ?? false,
      progress: (line) => lines.push(line),
      notify: (line) => lines.push(line),
      restoreTimeoutSeconds: options.restoreTimeoutSeconds,
      pollIntervalMs: 200,
      skipBackup: true,
    });
    return { ...result, lines };
  }

  async function drillProcessesLeft(): Promise<string[]> {
    const engine = localEngine(loaded.config, loaded.baseDir);
    const registered = (await listProcesses(engine.paths)).filter(
      (p) => p.kind === 'app' || p.kind === 'instance',
    );
    const running = processesUnder(join(dir, 'state', 'instances'));
    return [...registered.map((p) => `${p.kind}:${p.id}`), ...running];
  }

  /** The CLI in this process, on the shared configuration. */
  async function cliRun(args: string[], config = loaded.path) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([...args, '--config', config], {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      env: {},
      cwd: dir,
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('passes a drill to the latest restorable time, applying the pending migration', async () => {
    const result = await drill({});
    expect(result.error).toBeNull();
    expect(result.status, explain(result)).toBe('passed');
    const report = result.report;
    expect(report?.passed).toBe(true);
    expect(report?.escalations).toEqual([]);
    // Every step of the drill, in order (report and notify come after the report is written).
    expect(report?.steps.map((s) => s.name)).toEqual(
      DRILL_STEPS.filter((step) => step !== 'report' && step !== 'notify'),
    );
    expect(report?.steps.find((s) => s.name === 'detect-drift')?.detail).toMatch(/1 pending/);
    expect(report?.steps.find((s) => s.name === 'migrate')?.detail).toMatch(/applied .*no drift left/);
    expect(report?.rpoMinutes).toBeLessThan(loaded.config.targets.rpoMinutes);
    expect(report?.rtoMinutes).toBeLessThan(loaded.config.targets.rtoMinutes);
    expect(report?.appVerdict?.httpStatus).toBe(200);
    expect(readFileSync(result.reportFiles?.markdown ?? '', 'utf8')).toMatch(/PASSED/);
    expect(await drillProcessesLeft()).toEqual([]);
  });

  it('restores to a past target time: rows written after it are absent', async () => {
    const engine = localEngine(loaded.config, loaded.baseDir);
    const source = new pg.Client({ connectionString: (await engine.sourceUrl()) ?? '' });
    await source.connect();
    try {
      await source.query(
        `INSERT INTO "AuditLog" ("id", "action", "entityType") VALUES ('c' || substr(md5(random()::text), 1, 24), 'drill-marker-before', 'TEST')`,
      );
      await sleep(1500);
      const target = new Date();
      await sleep(1500);
      await source.query(
        `INSERT INTO "AuditLog" ("id", "action", "entityType") VALUES ('c' || substr(md5(random()::text), 1, 24), 'drill-marker-after', 'TEST')`,
      );
      // Wait until the archive holds WAL past the target.
      for (let i = 0; i < 40; i += 1) {
        const window = await engine.restorableWindow();
        if (window.latest && window.latest > new Date(target.getTime() + 2000)) break;
        await sleep(500);
      }
      const result = await drill({ input: { targetTime: target.toISOString() }, keep: true });
      expect(result.status, explain(result)).toBe('passed');
      expect(result.report?.targetTime).toBe(target.toISOString());
      const kept = (await engine.status()).instances.find(
        (i) => i.tags['recovery-drill:drill-id'] === result.drillId,
      );
      expect(kept?.status).toBe('available');
      const restored = new pg.Client({ connectionString: (await engine.instanceUrl(kept?.id ?? '')) ?? '' });
      await restored.connect();
      try {
        const markers = await restored.query<{ action: string }>(
          `SELECT "action" FROM "AuditLog" WHERE "action" LIKE 'drill-marker-%' ORDER BY "action"`,
        );
        expect(markers.rows.map((r) => r.action)).toEqual(['drill-marker-before']);
      } finally {
        await restored.end();
      }
    } finally {
      await source.end();
      await engine.cleanup();
    }
    expect(await drillProcessesLeft()).toEqual([]);
  });

  it.each([
    ['malformed time', { targetTime: 'yesterday' }, 'targetTime'],
    ['time without a zone', { targetTime: '2026-11-26T03:00:00' }, 'targetTime'],
    ['future time', { targetTime: '2999-01-01T00:00:00Z' }, 'targetTime'],
    [
      'time before the earliest restorable',
      { targetTime: new Date(Date.now() - 3 * 86_400_000).toISOString() },
      'targetTime',
    ],
    ['unknown key', { target: 'latest' }, 'target'],
    ['oversized reason', { reason: 'x'.repeat(201) }, 'reason'],
  ])('refuses a %s before anything is created', async (_name, input, field) => {
    const engine = localEngine(loaded.config, loaded.baseDir);
    const before = (await engine.status()).instances.length;
    const result = await drill({ input });
    expect(result.status).toBe('refused');
    expect(result.error).toContain(field);
    expect((await engine.status()).instances.length).toBe(before);
  });

  const faults = Object.entries(FAULTS).filter(
    ([name]) => name !== 'rto-breach' && name !== 'rpo-breach',
  ) as [FaultName, (typeof FAULTS)[FaultName]][];

  it.each(faults)('injects %s and reports its escalation, leaving nothing running', async (fault, spec) => {
    const result = await drill({
      inject: fault,
      restoreTimeoutSeconds: fault === 'restore-timeout' ? 3 : undefined,
    });
    const classes = result.report?.escalations.map((e) => e.class) ?? [];
    if (spec.expects === null) {
      expect(result.status, explain(result)).toBe('passed');
      expect(result.report?.warnings.join(' ')).toMatch(/recovery-evaluate|evaluate/);
    } else {
      expect(result.status, explain(result)).toBe('failed');
      expect(classes, `${explain(result)}\n${result.error}`).toContain(spec.expects);
      expect(result.report?.passed).toBe(false);
    }
    // A caught failure is one ✗ line for its state, never followed by a ✓ for the same state
    // (a polled state's earlier looks passed, and say so before it).
    result.lines.forEach((line, index) => {
      if (!line.startsWith('✗ ')) return;
      const state = line.slice(2).replace(/ \([\d.]+ s\).*$/, '');
      const after = result.lines.slice(index + 1).filter((l) => l.startsWith(`✓ ${state} (`));
      expect(after, line).toEqual([]);
    });
    // The fault found its part in this app and the report names what it broke.
    expect(result.fault?.missed ?? null, explain(result)).toBeNull();
    expect(result.fault?.broke, explain(result)).toEqual(expect.any(String));
    const details = result.report?.steps.map((s) => s.detail).join('\n') ?? '';
    expect(details, explain(result)).toContain(`[injected fault ${fault}: ${result.fault?.broke}]`);
    if (fault === 'cleanup-failure') {
      expect(await drillProcessesLeft()).not.toEqual([]);
      await localEngine(loaded.config, loaded.baseDir).cleanup();
    }
    expect(await drillProcessesLeft()).toEqual([]);
  });

  it('reports an RPO breach when the restore lands further back than the RPO target allows', async () => {
    const strict = writeConfig(dir, 'strict-rpo.json', { targets: { rpoMinutes: 0.05, rtoMinutes: 30 } });
    const result = await drill({ inject: 'rpo-breach', config: strict });
    expect(result.status, explain(result)).toBe('failed');
    expect(result.report?.escalations.map((e) => e.class)).toEqual(['RPO_BREACHED']);
    expect(await drillProcessesLeft()).toEqual([]);
  });

  it('reports an RTO breach when the app boots slower than the RTO target allows', async () => {
    const strict = writeConfig(dir, 'strict-rto.json', { targets: { rpoMinutes: 60, rtoMinutes: 0.05 } });
    const result = await drill({ inject: 'rto-breach', config: strict });
    expect(result.status, explain(result)).toBe('failed');
    expect(result.report?.escalations.map((e) => e.class)).toEqual(['RTO_BREACHED']);
    expect(await drillProcessesLeft()).toEqual([]);
  });

  describe('an app that dies', () => {
    /** Scripts that play an app which exits 2 s after it started: one never listens, one listens first. */
    function dyingApp(listens: boolean): string {
      const script = join(dir, listens ? 'dies-listening.mjs' : 'dies-silent.mjs');
      writeFileSync(
        script,
        listens
          ? `import { createServer } from 'node:http';
const server = createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 503, { 'content-type': 'application/json' });
  res.end('{"status":"not_ready"}');
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log('dying-app: listening on ' + process.env.PORT + ' in TZ ' + process.env.TZ);
  console.log('dying-app: DATABASE_URL=' + process.env.DATABASE_URL);
});
setTimeout(() => { console.error('dying-app: lost the database, giving up'); process.exit(4); }, 2000);
`
          : `console.log('dying-app: reading configuration');
setTimeout(() => { console.error('dying-app: SESSION_SECRET is not set'); process.exit(3); }, 2000);
`,
      );
      return `node ${script}`;
    }

    function configFor(name: string, startCommand: string, port: number): LoadedConfig {
      const committed = JSON.parse(
        readFileSync(join(REPO, 'recovery-drill.config.json'), 'utf8'),
      ) as ConfigInput;
      // A readiness budget far beyond the test's timeout: the exit must be reported, not waited out.
      return writeConfig(dir, name, {
        app: { ...committed.app, repoPath: join(REPO, 'examples', 'bt-cts'), startCommand, port },
        smoke: { readyBudgetSeconds: 600 },
      });
    }

    const took = (step: { startedAt: string; endedAt: string } | undefined) =>
      step ? (Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000 : Number.NaN;

    it('fails the start with the exit code and the log when it exits before it listens', async () => {
      const result = await drill({ config: configFor('dies-silent.json', dyingApp(false), 4000) });
      expect(result.status, explain(result)).toBe('failed');
      expect(result.report?.escalations.map((e) => e.class)).toEqual(['READY_NOT_OK']);
      const start = result.report?.steps.find((s) => s.name === 'start-app');
      expect(start?.outcome).toBe('failed');
      expect(start?.detail).toMatch(
        /^AppStartError: the app did not start: the app exited with code 3 [\d.]+ s after it started, before it listened on 127\.0\.0\.1:\d+/,
      );
      expect(start?.detail).toContain('dying-app: SESSION_SECRET is not set');
      expect(took(start)).toBeLessThan(60);
      expect(await drillProcessesLeft()).toEqual([]);
    });

    it('fails the running smoke check at once when it exits after it listened, on a busy app.port', async () => {
      const busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      const port = (busy.address() as { port: number }).port;
      try {
        const result = await drill({ config: configFor('dies-listening.json', dyingApp(true), port) });
        expect(result.status, explain(result)).toBe('failed');
        expect(result.report?.escalations.map((e) => e.class)).toEqual(['READY_NOT_OK']);
        const steps = result.report?.steps ?? [];
        const start = steps.find((s) => s.name === 'start-app');
        expect(start?.detail).toMatch(new RegExp(`app\\.port ${port} is busy: PORT=\\d+`));
        expect(steps.find((s) => s.name === 'smoke-health')?.outcome).toBe('passed');
        const ready = steps.find((s) => s.name === 'smoke-ready');
        expect(ready?.outcome).toBe('failed');
        expect(ready?.detail).toMatch(
          /^ReadyNotOkError: readiness check: the app exited with code 4 [\d.]+ s after it started/,
        );
        expect(ready?.detail).toContain('dying-app: lost the database, giving up');
        expect(ready?.detail).toContain('in TZ UTC');
        // Its log is redacted: the drill database's password never shows.
        expect(ready?.detail).toMatch(/DATABASE_URL=postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/btcts/);
        expect(took(ready)).toBeLessThan(60);
      } finally {
        busy.close();
      }
      expect(await drillProcessesLeft()).toEqual([]);
    });
  });

  it('writes no database or admin password and no session cookie anywhere: reports, notifications, logs, state', async () => {
    const engine = localEngine(loaded.config, loaded.baseDir);
    const credentials = await readCredentials(engine.paths);
    const secrets = [credentials?.password, credentials?.adminPassword].filter((s): s is string => !!s);
    expect(secrets.length).toBe(2);
    const result = await drill({ keep: true });
    expect(result.status, explain(result)).toBe('passed');
    // The login's session id, from the kept restored database's session store: the session cookie
    // (`s:<id>.<signature>`) carries it, so no text may hold it.
    const instanceUrl = await engine.instanceUrl(
      drillInstanceId(loaded.config.drill.instancePrefix, result.drillId),
    );
    const store = new pg.Client({ connectionString: instanceUrl ?? '' });
    await store.connect();
    try {
      const sessions = await store.query<{ sid: string }>(
        `SELECT sid FROM "${loaded.config.smoke.sessionTable}"`,
      );
      expect(sessions.rows.length).toBeGreaterThan(0);
      secrets.push(...sessions.rows.map((r) => r.sid));
    } finally {
      await store.end();
    }
    await engine.cleanup();
    expect(await drillProcessesLeft()).toEqual([]);
    const written: string[] = [explain(result), JSON.stringify(result.events), JSON.stringify(result.report)];
    const skip = new Set([
      engine.paths.credentials,
      engine.paths.sourceData,
      engine.paths.backups,
      engine.paths.walArchive,
      engine.paths.instances,
    ]);
    const walk = (path: string) => {
      if (skip.has(path)) return;
      const info = statSync(path);
      if (info.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
      else if (info.size < 50_000_000) written.push(readFileSync(path, 'utf8'));
    };
    walk(engine.paths.root);
    for (const secret of secrets) {
      for (const text of written) expect(text.includes(secret)).toBe(false);
    }
  });

  it('restores a latest drill from the backup before a newest one whose record is damaged, and says so', async () => {
    const engine = localEngine(loaded.config, loaded.baseDir);
    const before = (await engine.listSnapshots()).map((s) => s.id);
    await engine.createSnapshot('damaged-newest', { 'recovery-drill:managed': 'true' });
    const record = join(engine.paths.backups, 'damaged-newest', 'backup.json');
    writeFileSync(record, readFileSync(record, 'utf8').slice(0, 30));
    try {
      const result = await drill({});
      expect(result.status, explain(result)).toBe('passed');
      const restore = result.report?.steps.find((s) => s.name === 'restore');
      expect(restore?.outcome).toBe('warning');
      expect(restore?.detail).toContain(`from backup ${before.at(-1)}`);
      expect(restore?.detail).toContain(`backup ${before.at(-1)} was used instead: ${record} is damaged (`);
      expect(result.report?.warnings.join('\n')).toContain(record);
    } finally {
      rmSync(join(engine.paths.backups, 'damaged-newest'), { recursive: true, force: true });
    }
    expect(await drillProcessesLeft()).toEqual([]);
  });

  it('reports a drill whose backup runs out of disk (ENOSPC) with a report, a message and exit 1', async () => {
    const engine = localEngine(loaded.config, loaded.baseDir);
    // A real full disk: a 4 MiB file system over the backups folder (its backups hidden meanwhile,
    // so the drill must take one). Needs root, as these tests run.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0755', 'tmpfs', engine.paths.backups]);
    let result: { code: number; out: string; err: string };
    try {
      result = await cliRun(['drill', '--local']);
    } finally {
      execFileSync('umount', [engine.paths.backups]);
    }
    expect(result.code, result.err).toBe(1);
    expect(result.out).toMatch(/^# Recovery drill \S+: FAILED/);
    expect(result.out).toMatch(
      /\| prepare \| \*\*failed\*\* \|[^\n]*taking backup local-\S+ of the running source: ENOSPC: no space left on device/,
    );
    expect(result.out).toContain('### BACKUP_FAILED (high)');
    expect(result.err).toMatch(/notify: \[[^\]]*\] BACKUP_FAILED/);
    expect(result.err).not.toMatch(/\n\s+at /);
    const drillId = /^# Recovery drill (\S+):/.exec(result.out)?.[1] as string;
    const notes = readFileSync(join(engine.paths.root, 'notifications.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            kind: string;
            drillId: string;
            escalation?: { class: string; remediation: string };
          },
      )
      .filter((n) => n.drillId === drillId);
    expect(notes.map((n) => n.escalation?.class ?? n.kind)).toEqual(['BACKUP_FAILED', 'summary']);
    // Local evidence, not the RDS console.
    expect(notes[0]?.escalation?.remediation).toContain('prepare step');
    expect(notes[0]?.escalation?.remediation).not.toMatch(/console/);
    expect(existsSync(join(engine.paths.root, 'reports', `${drillId}.json`))).toBe(true);
    expect((await engine.listSnapshots()).map((s) => s.status)).not.toContain('creating');
  });

  describe('interrupted by a signal', () => {
    const BIN = join(REPO, 'bin', 'recovery-drill.js');

    /** The CLI drill as its own process, as a person runs it in a terminal. */
    function drillChild(config: LoadedConfig): {
      child: ChildProcess;
      err: () => string;
      exit: Promise<number | null>;
    } {
      const child = spawn(process.execPath, [BIN, 'drill', '--local', '--config', config.path], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stdout?.resume();
      child.stderr?.on('data', (c: Buffer) => {
        err += c.toString();
      });
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return { child, err: () => err, exit };
    }

    async function until<T>(
      what: string,
      probe: () => Promise<T | null | undefined> | T | null | undefined,
      log: () => string,
    ): Promise<T> {
      const deadline = Date.now() + 180_000;
      for (;;) {
        const value = await probe();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`${what} did not happen:\n${log()}`);
        await sleep(200);
      }
    }

    const appEntry = async (suffix: string) =>
      (await listProcesses(localEngine(loaded.config, loaded.baseDir).paths)).find(
        (p) => p.kind === 'app' && p.id.endsWith(suffix),
      );

    /** Nothing of the drill is left: processes, instance, secret; its report says it was interrupted by `signal`. */
    async function expectCleanedUp(drillId: string, signal: string, during: string, stopped: ProcessEntry) {
      const engine = localEngine(loaded.config, loaded.baseDir);
      expect(await drillProcessesLeft()).toEqual([]);
      expect(isProcessAlive(stopped.pid)).toBe(false);
      expect(
        existsSync(
          join(engine.paths.instances, drillInstanceId(loaded.config.drill.instancePrefix, drillId)),
        ),
      ).toBe(false);
      expect(existsSync(join(engine.paths.drills, drillId, 'secret.json'))).toBe(false);
      const report = JSON.parse(readFileSync(join(engine.paths.root, 'reports', `${drillId}.json`), 'utf8'));
      expect(report).toMatchObject({ passed: false, interrupted: { signal, during } });
      expect(report.interrupted.cleaned.join(' ')).toContain(
        drillInstanceId(loaded.config.drill.instancePrefix, drillId),
      );
      expect(report.escalations).toEqual([]);
      expect(readFileSync(join(engine.paths.root, 'reports', `${drillId}.md`), 'utf8')).toMatch(
        new RegExp(`: INTERRUPTED\\n\\n> Interrupted by ${signal} during ${during}`),
      );
      const summary = readFileSync(join(engine.paths.root, 'notifications.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { kind: string; drillId: string; subject: string })
        .filter((n) => n.drillId === drillId);
      expect(summary).toEqual([
        expect.objectContaining({ kind: 'summary', subject: expect.stringContaining('INTERRUPTED') }),
      ]);
    }

    it('SIGINT during migrate: cleanup meanwhile skips the live drill; then nothing is left and the report says so (exit 130)', async () => {
      const script = join(dir, 'slow-migrate.mjs');
      writeFileSync(script, "console.log('slow-migrate: migrating'); setTimeout(() => {}, 300000);\n");
      const config = writeConfig(dir, 'slow-migrate.json', {
        app: {
          ...committed().app,
          repoPath: join(REPO, 'examples', 'bt-cts'),
          migrateCommand: `node ${script}`,
        },
      });
      const run = drillChild(config);
      const migrate = await until('the migrate command', () => appEntry('-migrate'), run.err);
      const drillId = migrate.drillId as string;
      const instanceId = drillInstanceId(loaded.config.drill.instancePrefix, drillId);
      // `local cleanup` while the drill runs leaves its instance, its migrate command and its secret alone.
      const cleanup = await cliRun(['local', 'cleanup']);
      expect(cleanup.code).toBe(0);
      expect(cleanup.out).toContain(
        `skipped instance ${instanceId}: its drill ${drillId} is running (pid ${run.child.pid}`,
      );
      const engine = localEngine(loaded.config, loaded.baseDir);
      expect((await engine.recovery.describeInstance(instanceId))?.status).toBe('available');
      expect(isProcessAlive(migrate.pid)).toBe(true);
      expect(existsSync(join(engine.paths.drills, drillId, 'secret.json'))).toBe(true);

      run.child.kill('SIGINT');
      expect(await run.exit, run.err()).toBe(130);
      expect(run.err()).toContain(
        'recovery-drill drill: interrupted by SIGINT during Run migrations; cleaned up: ',
      );
      expect(run.err()).toMatch(/report \(interrupted\): \S+\.md/);
      await expectCleanedUp(drillId, 'SIGINT', 'Run migrations', migrate);
    }, 240_000);

    it('SIGTERM during a smoke check: the app is stopped, nothing is left, the report says so (exit 143)', async () => {
      const script = join(dir, 'never-ready.mjs');
      writeFileSync(
        script,
        `import { createServer } from 'node:http';
createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 503, { 'content-type': 'application/json' });
  res.end(req.url === '/health' ? '{"status":"ok"}' : '{"status":"not_ready"}');
}).listen(Number(process.env.PORT), '127.0.0.1');
`,
      );
      const config = writeConfig(dir, 'never-ready.json', {
        app: {
          ...committed().app,
          repoPath: join(REPO, 'examples', 'bt-cts'),
          startCommand: `node ${script}`,
        },
        smoke: { readyBudgetSeconds: 600 },
      });
      const run = drillChild(config);
      await until('the readiness check', () => run.err().includes('✓ Smoke: health'), run.err);
      const app = (await appEntry('-app')) as ProcessEntry;
      expect(isProcessAlive(app.pid)).toBe(true);
      run.child.kill('SIGTERM');
      expect(await run.exit, run.err()).toBe(143);
      expect(run.err()).toContain(
        'recovery-drill drill: interrupted by SIGTERM during Smoke: ready; cleaned up: ',
      );
      await expectCleanedUp(app.drillId as string, 'SIGTERM', 'Smoke: ready', app);
    }, 240_000);
  });

  describe('recovery-drill drill --local', () => {
    async function cli(args: string[], config = loaded.path) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main([...args, '--config', config], {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
        env: {},
        cwd: dir,
      });
      return { code, out: out.join('\n'), err: err.join('\n') };
    }

    it('prints only the JSON report with --json and exits 0 when the drill passed', async () => {
      const result = await cli(['drill', '--local', '--json', '--reason', 'cli test']);
      expect(result.code, result.err).toBe(0);
      const report = JSON.parse(result.out) as { passed: boolean; reason: string; drillId: string };
      expect(report).toMatchObject({ passed: true, reason: 'cli test' });
      expect(result.err).toContain('✓ Smoke: day state');
    });

    it('keeps the restored database with --keep and names it without its password', async () => {
      const result = await cli(['drill', '--local', '--json', '--keep']);
      expect(result.code, result.err).toBe(0);
      const report = JSON.parse(result.out) as { restoredDatabaseUrl?: string };
      expect(report.restoredDatabaseUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/btcts$/);
      const engine = localEngine(loaded.config, loaded.baseDir);
      expect((await engine.status()).instances.filter((i) => i.status === 'available')).toHaveLength(1);
      await engine.cleanup();
      expect(await drillProcessesLeft()).toEqual([]);
    });

    it.each([
      [
        'search-failure',
        { smoke: { accountSearchTable: 'NoSuchTable' } },
        'smoke.accountSearchTable = "NoSuchTable"',
      ],
      [
        'day-read-failure',
        { smoke: { dayStateTable: 'NoSuchTable' } },
        'smoke.dayStateTable = "NoSuchTable"',
      ],
      ['integrity-orphan', { integrity: { criticalTables: ['AuditLog'] } }, 'foreign key'],
      [
        'integrity-future-row',
        { integrity: { timestampColumn: 'insertedAt' } },
        'integrity.timestampColumn = "insertedAt"',
      ],
      [
        'login-failure',
        {
          app: {
            ...(committed().app ?? {}),
            repoPath: join(REPO, 'examples', 'bt-cts'),
            stagingBaseUrl: 'https://staging.example.com',
          },
        },
        'app.stagingBaseUrl',
      ],
      // The source is minutes old: no restore point lies a whole day before the target.
      [
        'rpo-breach',
        { targets: { rpoMinutes: 1440 } },
        'a restorable window longer than targets.rpoMinutes (1440 min)',
      ],
    ] as const)(
      'refuses --inject %s with exit 2 when it cannot apply to the app, before anything starts',
      async (fault, overrides, needs) => {
        const config = writeConfig(dir, `refuse-${fault}.json`, overrides as Partial<ConfigInput>);
        const engine = localEngine(loaded.config, loaded.baseDir);
        const before = (await engine.status()).instances.length;
        const result = await cli(['drill', '--local', '--inject', fault], config.path);
        expect(result.code, result.err).toBe(2);
        expect(result.err).toContain(
          `--inject: a fault that can apply to the configured app: ${fault} needs`,
        );
        expect(result.err).toContain(needs);
        expect((await engine.status()).instances.length).toBe(before);
        expect(await drillProcessesLeft()).toEqual([]);
      },
    );

    it.each([
      [['--target-time', '2026-11-26T03:00:00'], 'targetTime'],
      [['--inject', 'disk-full'], '--inject'],
      [['--reason', 'x'.repeat(201)], 'reason'],
    ])('refuses %j with exit 2 naming the field, before anything starts', async (args, field) => {
      const engine = localEngine(loaded.config, loaded.baseDir);
      const before = (await engine.status()).instances.length;
      const result = await cli(['drill', '--local', ...args]);
      expect(result.code).toBe(2);
      expect(result.err).toContain(field);
      expect((await engine.status()).instances.length).toBe(before);
    });
  });
  describe('a quiet source (no critical writes for longer than the RPO target, the heartbeat beating)', () => {
    const quiet = () => writeConfig(dir, 'quiet.json', { targets: { rpoMinutes: 1, rtoMinutes: 30 } });
    let lastWrite: Date;

    /** Ids of each critical table's rows created at or before `at`, in the database at `url`. */
    async function rowIds(url: string, at: Date): Promise<Record<string, number[]>> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const out: Record<string, number[]> = {};
        for (const table of loaded.config.integrity.criticalTables) {
          const rows = await client.query<{ id: number }>(
            `SELECT id FROM "${table}" WHERE "${loaded.config.integrity.timestampColumn}" <= $1 ORDER BY id`,
            [at],
          );
          out[table] = rows.rows.map((r) => r.id);
        }
        return out;
      } finally {
        await client.end();
      }
    }

    /** The copy a kept drill restored, its rows compared with the source's, then removed. */
    async function compareWithSource(drillId: string, at: Date) {
      const engine = localEngine(loaded.config, loaded.baseDir);
      const id = drillInstanceId(loaded.config.drill.instancePrefix, drillId);
      const copy = await rowIds((await engine.instanceUrl(id)) ?? '', at);
      const source = await rowIds((await engine.sourceUrl()) ?? '', at);
      await engine.cleanup();
      return { copy, source };
    }

    beforeAll(async () => {
      const engine = localEngine(loaded.config, loaded.baseDir);
      // The trickle writer stops: the critical tables go quiet; the heartbeat keeps writing.
      for (const entry of await listProcesses(engine.paths))
        if (entry.kind === 'trickle') await stopRegistered(engine.paths, entry);
      await startHeartbeatProcess(engine.paths, {
        databaseUrl: (await engine.sourceUrl()) as string,
        schema: loaded.config.heartbeat.schema,
        retentionDays: loaded.config.heartbeat.retentionDays,
      });
      lastWrite = new Date();
      await sleep(75_000);
    }, 120_000);

    afterAll(async () => {
      // The trickle writer again, for whatever runs after.
      await localEngine(loaded.config, loaded.baseDir).startSource();
    });

    it('passes a drill to latest with an RPO of about 0, the heartbeat bound in the report, every committed row in the copy', async () => {
      const result = await drill({ config: quiet(), keep: true });
      expect(result.status, explain(result)).toBe('passed');
      const report = result.report;
      expect(report?.targetTime).toBe(report?.startedAt);
      expect(report?.restorePointSource).toBe('archive-coverage');
      expect(report?.rpoMinutes).toBeLessThanOrEqual(0.03);
      expect(report?.newestRowLagMinutes).toBeGreaterThan(1);
      expect(report?.heartbeat).toMatchObject({ status: 'proven', passed: true });
      expect(readFileSync(result.reportFiles?.markdown ?? '', 'utf8')).toMatch(
        /\| Heartbeat \(data-proven bound\) \| RPO ≤ \d+(\.\d+)? min, proven by data/,
      );
      const { copy, source } = await compareWithSource(result.drillId, lastWrite);
      expect(copy).toEqual(source);
      expect(await drillProcessesLeft()).toEqual([]);
    });

    it('passes a drill to a target inside the quiet period with an RPO of 0, every row committed before it in the copy', async () => {
      const target = new Date(lastWrite.getTime() + 30_000);
      const result = await drill({
        config: quiet(),
        input: { targetTime: target.toISOString() },
        keep: true,
      });
      expect(result.status, explain(result)).toBe('passed');
      expect(result.report).toMatchObject({
        targetTime: target.toISOString(),
        restorePointAt: target.toISOString(),
        restorePointSource: 'requested-time',
        rpoMinutes: 0,
      });
      expect(result.report?.heartbeat).toMatchObject({ status: 'proven', passed: true });
      const { copy, source } = await compareWithSource(result.drillId, target);
      expect(copy).toEqual(source);
      expect(await drillProcessesLeft()).toEqual([]);
    });
  });
});

/**
 * The bring-your-own path: the example app provisioned as an external app would be, through its
 * own migrate and seed commands (`local.source` of kind `app`), not the built-in provisioner, with
 * its trickle writer as the traffic command. A drill of it passes.
 */
describe('local restore drill of an app provisioned by its own commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recovery-drill-byo-'));
  chmodSync(dir, 0o755);
  let loaded: LoadedConfig;

  beforeAll(async () => {
    const base = committed();
    const config: ConfigInput = {
      ...base,
      app: { ...base.app, repoPath: join(REPO, 'examples', 'bt-cts') },
      local: {
        stateDir: join(dir, 'state'),
        archiveTimeoutSeconds: 2,
        source: {
          kind: 'app',
          seedCommand: 'node --import tsx apps/api/src/seed.ts',
          trafficCommand: 'node --import tsx apps/api/src/trickle.ts',
        },
      },
      smoke: { readyBudgetSeconds: 30 },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    loaded = loadConfig({ explicitPath: join(dir, 'config.json') });
    await prepareSource(localEngine(loaded.config, loaded.baseDir), loaded.config, () => undefined);
    await sleep(4000);
  }, 240_000);

  afterAll(async () => {
    const engine = localEngine(loaded.config, loaded.baseDir);
    await engine.cleanup();
    await engine.stopSource();
    const left = processesUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    expect(left).toEqual([]);
  }, 120_000);

  it('provisions the source with the app’s migrate and seed commands and drills it', async () => {
    const engine = localEngine(loaded.config, loaded.baseDir);
    const status = await engine.status();
    expect(status.source?.origin).toMatchObject({
      kind: 'app',
      migrateCommand: loaded.config.app.migrateCommand,
      seedCommand: 'node --import tsx apps/api/src/seed.ts',
    });
    expect(status.source?.trickleRunning).toBe(true);
    const writers = (await listProcesses(engine.paths)).filter((p) => p.kind === 'trickle');
    expect(writers.map((w) => w.marker)).toEqual([join(engine.paths.sourceDir, 'traffic.log')]);

    const lines: string[] = [];
    const result = await runLocalDrill({
      loaded,
      definition: drillDefinition(loaded.config, loaded.baseDir),
      input: {},
      progress: (line) => lines.push(line),
      notify: (line) => lines.push(line),
      pollIntervalMs: 200,
      skipBackup: true,
    });
    expect(result.status, explain({ lines, report: result.report })).toBe('passed');
    expect(result.report?.escalations).toEqual([]);

    // The admin password the seed was given is in the credentials file only.
    const credentials = await readCredentials(engine.paths);
    for (const log of ['migrate.log', 'seed.log', 'traffic.log']) {
      const text = readFileSync(join(engine.paths.sourceDir, log), 'utf8');
      expect(text.includes(credentials?.adminPassword as string), log).toBe(false);
      expect(text.includes(credentials?.password as string), log).toBe(false);
    }
  });
});
