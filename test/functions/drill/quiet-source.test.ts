/**
 * A quiet source loses nothing by being quiet: drills over the local engine (a real embedded
 * PostgreSQL source with WAL archiving, real point-in-time restores) whose critical tables have
 * had no write for longer than the 1-minute RPO target, while the heartbeat writes every minute.
 * The steps run through `runStep` as the state machine runs them (step-drill.ts), the smoke checks
 * against an app with the BT-CTS contract; the full drill through the synthesized machine and the
 * example app is in local-drill.test.ts.
 *
 * The heartbeat here is the engine's own writer loop (`startHeartbeatLoop`, the code the detached
 * local writer runs) against the source, started by this test.
 */
import { chmod, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFault } from '../../../functions/drill/drivers/local/fault-plan.ts';
import type { DrillDeps } from '../../../functions/drill/ports/drill-deps.ts';
import { summarizeArchive, switchAndMarkCoverage } from '../../../functions/local/archive.ts';
import { LocalEngine } from '../../../functions/local/engine.ts';
import {
  type HeartbeatLoop,
  startHeartbeatLoop,
  stopHeartbeatProcess,
} from '../../../functions/local/heartbeat-process.ts';
import { type ContractApp, startContractApp } from '../../support/contract-app.ts';
import { createCriticalTables, criticalRows, writeBusiness } from '../../support/critical-tables.ts';
import { disposeEngine } from '../../support/postgres.ts';
import { drillConfig } from './aws/support.ts';
import { runStepDrill } from './step-drill.ts';

const PASSWORD = 'admin-pass-quiet';
const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a quiet source: drills to latest and into the quiet period pass with an RPO of about 0', () => {
  let root: string;
  let engine: LocalEngine;
  let app: ContractApp;
  let heartbeat: HeartbeatLoop | null = null;
  let sourceUrl: string;
  /** The commit of the last business write: nothing in the critical tables after it. */
  let lastWrite: Date;
  const config = () =>
    drillConfig({
      targets: { rpoMinutes: 1, rtoMinutes: 30 },
      local: { stateDir: join(root, 'state'), archiveTimeoutSeconds: 60 },
      drill: { restoreTimeoutMinutes: 5 },
    });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'recovery-drill-quiet-'));
    // As root the server runs as "postgres", which must be able to pass through the test's folder.
    await chmod(root, 0o755);
    engine = new LocalEngine({
      config: config(),
      baseDir: root,
      provision: async (url) => {
        await createCriticalTables(url);
        await writeBusiness(url, 'before-backup');
      },
      trickle: false,
    });
    await engine.startSource();
    sourceUrl = (await engine.sourceUrl()) as string;
    // The source starts its own detached writer; this test runs the same loop in-process instead,
    // so that it can stop the beats when it wants them to stop.
    await stopHeartbeatProcess(engine.paths);
    heartbeat = startHeartbeatLoop(sourceUrl);
    while (heartbeat.beats() < 1) await sleep(50);
    await engine.createSnapshot('base', {});
    await writeBusiness(sourceUrl, 'after-backup');
    await writeBusiness(sourceUrl, 'last-of-the-day');
    lastWrite = new Date();
    app = await startContractApp({ password: PASSWORD });
    // Quiet for longer than the RPO target; only the heartbeat writes.
    await sleep(lastWrite.getTime() + 75_000 - Date.now());
  }, 240_000);

  afterAll(async () => {
    await heartbeat?.stop();
    await app?.close();
    await disposeEngine(engine, root);
  }, 120_000);

  async function drill(input: Record<string, unknown>) {
    const dir = await mkdtemp(join(root, 'drill-'));
    const result = await runStepDrill({
      config: config(),
      mode: 'local',
      recovery: engine.recovery,
      instanceUrl: (id) => engine.instanceUrl(id),
      app,
      adminPassword: PASSWORD,
      dir,
      input,
      keepInstance: true,
    });
    const instanceId = result.state.drill?.instanceId ?? '';
    const url = await engine.instanceUrl(instanceId);
    const rows = url ? await criticalRows(url) : null;
    if (await engine.recovery.describeInstance(instanceId)) await engine.recovery.deleteInstance(instanceId);
    return { ...result, rows };
  }

  it('passes a drill to latest: P is the archive coverage at the restore, RPO about 0, every committed row in the copy, the heartbeat bound in the report', async () => {
    const result = await drill({});
    const report = result.report;
    expect(result.failed, JSON.stringify(result.state.failures)).toBeNull();
    expect(report?.passed).toBe(true);
    expect(report?.escalations).toEqual([]);
    // T is the drill's start; P the moment the source switched WAL for this restore (a second's margin).
    expect(report?.targetTime).toBe(report?.startedAt);
    expect(report?.restorePointSource).toBe('archive-coverage');
    const t = Date.parse(report?.targetTime ?? '');
    const p = Date.parse(report?.restorePointAt ?? '');
    expect(p).toBeGreaterThan(t - 2000);
    expect(report?.rpoMinutes).toBeLessThanOrEqual(0.03);
    // The critical tables were quiet for longer than the RPO target: no failure, no warning about it.
    expect(report?.newestRowLagMinutes).toBeGreaterThan(1);
    expect(report?.warnings).toEqual([]);
    expect(report?.heartbeat).toMatchObject({ status: 'proven', passed: true });
    expect(report?.heartbeat?.boundMinutes).toBeLessThanOrEqual(1.1);
    expect(result.markdown).toMatch(
      /\| Heartbeat \(data-proven bound\) \| RPO ≤ \d+(\.\d+)? min, proven by data/,
    );
    expect(result.markdown).toContain(
      `| Restore point (P) | ${report?.restorePointAt}, from the engine: local archive coverage (the source switched WAL when the restore started, and the archive holds that segment) |`,
    );
    expect(result.rows).toEqual(await criticalRows(sourceUrl));
    expect(result.rows?.AuditLog).toHaveLength(3);
  });

  it('passes a drill to a target inside the quiet period: P is the target, RPO 0, every row committed before it', async () => {
    const target = new Date(lastWrite.getTime() + 30_000);
    const result = await drill({ targetTime: target.toISOString() });
    const report = result.report;
    expect(result.failed, JSON.stringify(result.state.failures)).toBeNull();
    expect(report).toMatchObject({
      passed: true,
      requestedTarget: target.toISOString(),
      targetTime: target.toISOString(),
      restorePointAt: target.toISOString(),
      restorePointSource: 'requested-time',
      rpoMinutes: 0,
    });
    expect(report?.heartbeat).toMatchObject({ status: 'proven', passed: true });
    expect(result.rows).toEqual(await criticalRows(sourceUrl));
  });

  it('accepts a target after the newest archived commit that lies within the coverage, and refuses one after it', async () => {
    const paths = engine.paths;
    let window = await engine.restorableWindow();
    let lastCommit = (await summarizeArchive(paths)).lastCommitAt;
    // A switch the engine makes, as a "latest" restore does; again until a heartbeat commit is not just before it.
    for (let i = 0; i < 5; i += 1) {
      await switchAndMarkCoverage(paths, (await engine.sourceUrl('postgres')) as string, {
        timeoutMs: 30_000,
      });
      window = await engine.restorableWindow();
      lastCommit = (await summarizeArchive(paths)).lastCommitAt;
      if (lastCommit && window.latest && window.latest.getTime() - lastCommit.getTime() >= 2000) break;
      await sleep(3000);
    }
    const end = window.latest as Date;
    const newest = lastCommit as Date;
    expect(end.getTime() - newest.getTime()).toBeGreaterThanOrEqual(2000);
    const target = new Date(newest.getTime() + Math.floor((end.getTime() - newest.getTime()) / 2));
    const result = await drill({ targetTime: target.toISOString() });
    expect(result.failed, JSON.stringify(result.state.failures)).toBeNull();
    expect(result.report).toMatchObject({
      passed: true,
      restorePointAt: target.toISOString(),
      rpoMinutes: 0,
    });
    expect(result.rows).toEqual(await criticalRows(sourceUrl));

    while (Date.now() < end.getTime() + 3000) await sleep(200);
    const instancesBefore = await readdir(paths.instances).catch(() => []);
    const refused = await drill({ targetTime: new Date(end.getTime() + 2000).toISOString() });
    expect(refused.failed?.step).toBe('validate');
    expect(refused.failed?.error.name).toBe('DrillInputError');
    expect(refused.failed?.error.message).toContain('targetTime');
    expect(await readdir(paths.instances).catch(() => [])).toEqual(instancesBefore);
  });

  it('still raises RPO_BREACHED for the rpo-breach fault: a restore to a point further back than the target allows', async () => {
    const plan = await planFault(
      'rpo-breach',
      engine.recovery,
      { config: config(), sourceUrl: null },
      () => ({ settings: { config: config() } }) as unknown as DrillDeps,
    );
    const dir = await mkdtemp(join(root, 'drill-'));
    const result = await runStepDrill({
      config: config(),
      mode: 'local',
      recovery: plan.recovery,
      instanceUrl: (id) => engine.instanceUrl(id),
      app,
      adminPassword: PASSWORD,
      dir,
      input: {},
    });
    expect(result.failed).toBeNull();
    expect(result.report?.escalations.map((e) => e.class)).toEqual(['RPO_BREACHED']);
    // The engine restored to the earlier time it was asked for: P is that time, T the drill's start.
    expect(result.report?.restorePointSource).toBe('requested-time');
    expect(result.report?.rpoMinutes).toBeGreaterThan(1);
  });

  it('fails RPO_BREACHED with the evidence when the heartbeat stopped longer than the target before T', async () => {
    await heartbeat?.stop();
    heartbeat = null;
    const source = new pg.Client({ connectionString: sourceUrl });
    await source.connect();
    const lastBeat = (await source.query<{ at: Date }>('SELECT max(at) AS at FROM recovery_drill.heartbeat'))
      .rows[0]?.at as Date;
    await source.end();
    // Longer than the target plus one beat interval (the jitter the drill allows).
    await sleep(lastBeat.getTime() + 2 * MINUTE + 5000 - Date.now());
    const result = await drill({});
    const report = result.report;
    expect(result.failed).toBeNull();
    expect(report?.passed).toBe(false);
    expect(report?.escalations.map((e) => e.class)).toEqual(['RPO_BREACHED']);
    // The engine's RPO is met; the data does not prove it.
    expect(report?.rpoMinutes).toBeLessThanOrEqual(0.03);
    const expectedBy = new Date(Date.parse(report?.targetTime ?? '') - 2 * MINUTE).toISOString();
    expect(report?.heartbeat).toMatchObject({
      status: 'stale',
      passed: false,
      newestAt: lastBeat.toISOString(),
      expectedBy,
    });
    expect(report?.escalations[0]?.evidence).toMatchObject({
      heartbeat: 'stale',
      newestHeartbeatAt: lastBeat.toISOString(),
      heartbeatExpectedBy: expectedBy,
    });
    expect(report?.escalations[0]?.message).toContain(
      `heartbeat: the restored copy's newest heartbeat at or before T is ${lastBeat.toISOString()}`,
    );
    expect(result.markdown).toContain('(the heartbeat does not prove it)');
    expect(result.printed.join('\n')).toContain(
      `heartbeat in the restored copy: stale, newest beat ${lastBeat.toISOString()}, expected at or after ${expectedBy}`,
    );
    // Nothing was lost all the same: the copy holds every committed row.
    expect(result.rows).toEqual(await criticalRows(sourceUrl));
  }, 240_000);
});
