/**
 * The whole restore drill, end to end: the state machine synthesized from the stack's construct,
 * run by aws-local-stepfunctions against a real embedded PostgreSQL (a WAL-archiving source,
 * a real point-in-time restore), the example app's real migrate command and HTTP API, with a real
 * fault injected for every escalation class.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../bin/cli.ts';
import type { ConfigInput } from '../../../functions/core/config.ts';
import { DRILL_STEPS } from '../../../functions/core/escalations.ts';
import { FAULTS, type FaultName } from '../../../functions/drill/local/faults.ts';
import { localEngine, prepareSource, runLocalDrill } from '../../../functions/drill/local/run.ts';
import { drillInstanceId } from '../../../functions/drill/steps.ts';
import { readCredentials } from '../../../functions/local/source.ts';
import { listProcesses } from '../../../functions/local/state.ts';
import { type LoadedConfig, loadConfig } from '../../../functions/shared/config-file.ts';
import { drillDefinition } from '../../../lib/drill/definition.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    await prepareSource(localEngine(loaded.config, loaded.baseDir), loaded.config, () => undefined);
    // Let the trickle writer and the archiver put a few seconds of history after the backup.
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

  describe('recovery-drill drill --local', () => {
    async function cli(args: string[]) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main([...args, '--config', loaded.path], {
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
});
