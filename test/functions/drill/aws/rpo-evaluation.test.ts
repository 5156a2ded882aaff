/**
 * The RPO of an AWS drill through its steps: P from the source's LatestRestorableTime when the
 * restore starts, integrity without a freshness rule on a quiet copy, RPO_BREACHED when the lag
 * exceeds the target, and the heartbeat's bound where it is set up.
 *
 * moto reports LatestRestorableTime as "now" (the adapter against moto is in rds-recovery.test.ts),
 * so a lagging source is the one thing mocked here (aws-sdk-client-mock on the RDS client): the
 * instance the mock "restores" is a real PostgreSQL database standing in for the copy, the smoke
 * checks and recovery-evaluate go to a real HTTP app with the BT-CTS contract, and the drill secret,
 * reports and notifications are the real file-backed stores.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteDBInstanceCommand,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RestoreDBInstanceToPointInTimeCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../../../functions/core/config.ts';
import { RdsRecovery } from '../../../../functions/drill/adapters/aws/rds-recovery.ts';
import type { StartedCluster } from '../../../../functions/local/cluster.ts';
import { createTemporaryCluster } from '../../../../functions/local/temporary-cluster.ts';
import { ensureHeartbeatTable, writeHeartbeat } from '../../../../functions/shared/heartbeat-db.ts';
import { type ContractApp, startContractApp } from '../../../support/contract-app.ts';
import { createCriticalTables, writeBusiness } from '../../../support/critical-tables.ts';
import { postgresProcessesUnder } from '../../../support/postgres.ts';
import { runStepDrill } from '../step-drill.ts';
import { drillConfig, REGION } from './support.ts';

const SOURCE = 'bt-cts-prod';
const PASSWORD = 'admin-pass-8080';
const MINUTE = 60_000;

describe('RPO of an AWS drill: P from LatestRestorableTime, proven by the heartbeat where set up', () => {
  let cluster: StartedCluster & { destroy(): Promise<void> };
  let app: ContractApp;
  let dir: string;
  /** The database a restore "restores" into, by instance id. */
  const copies = new Map<string, string>();
  let quietCopy: string;
  let beatingCopy: string;

  beforeAll(async () => {
    cluster = await createTemporaryCluster();
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE quiet');
    await admin.query('CREATE DATABASE beating');
    await admin.end();
    quietCopy = cluster.url('quiet');
    beatingCopy = cluster.url('beating');
    // A quiet source: its last business two hours before the drill (a branch closed overnight).
    for (const url of [quietCopy, beatingCopy]) {
      await createCriticalTables(url);
      await writeBusiness(url, 'evening', new Date(Date.now() - 125 * MINUTE));
      await writeBusiness(url, 'closing', new Date(Date.now() - 120 * MINUTE));
    }
    // The heartbeat kept beating through the night; the newest beat is a moment ago.
    await ensureHeartbeatTable(beatingCopy, { schema: 'recovery_drill' });
    await writeHeartbeat(beatingCopy, { schema: 'recovery_drill', retentionDays: 3 });
    app = await startContractApp({ password: PASSWORD });
    dir = mkdtempSync(join(tmpdir(), 'rpo-aws-'));
    chmodSync(dir, 0o700);
  });

  afterAll(async () => {
    await app?.close();
    const dataDir = cluster?.dataDir;
    await cluster?.destroy();
    if (dataDir) expect(postgresProcessesUnder(dataDir)).toEqual([]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * An RDS client whose source lags `lagMinutes` behind the clock; a restore becomes an available
   * instance with the tags it was created with, its endpoint the `copy` database.
   */
  function laggingRds(lagMinutes: number, copy: string) {
    const mock = mockClient(RDSClient);
    const restored = new Map<string, Tag[]>();
    mock.on(DescribeDBInstancesCommand).callsFake((input: { DBInstanceIdentifier?: string }) => {
      const id = input.DBInstanceIdentifier ?? '';
      if (id === SOURCE)
        return {
          DBInstances: [
            {
              DBInstanceIdentifier: SOURCE,
              DbiResourceId: 'db-SOURCE',
              DBInstanceStatus: 'available',
              LatestRestorableTime: new Date(Date.now() - lagMinutes * MINUTE),
            },
          ],
        };
      const tags = restored.get(id);
      if (!tags) {
        const error = new Error(`DBInstance ${id} not found`);
        error.name = 'DBInstanceNotFoundFault';
        throw error;
      }
      const url = new URL(copy);
      return {
        DBInstances: [
          {
            DBInstanceIdentifier: id,
            DBInstanceStatus: 'available',
            Endpoint: { Address: url.hostname, Port: Number(url.port) },
            TagList: tags,
          },
        ],
      };
    });
    mock.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({
      DBInstanceAutomatedBackups: [
        {
          DbiResourceId: 'db-SOURCE',
          Status: 'active',
          RestoreWindow: { EarliestTime: new Date(Date.now() - 7 * 24 * 60 * MINUTE) },
        },
      ],
    });
    mock.on(RestoreDBInstanceToPointInTimeCommand).callsFake((input) => {
      const id = input.TargetDBInstanceIdentifier as string;
      restored.set(id, input.Tags ?? []);
      copies.set(id, copy);
      return { DBInstance: { DBInstanceIdentifier: id, DBInstanceStatus: 'creating' } };
    });
    mock.on(DeleteDBInstanceCommand).callsFake((input) => {
      restored.delete(input.DBInstanceIdentifier as string);
      return {};
    });
    return mock;
  }

  async function drill(lagMinutes: number, copy: string, overrides: Partial<ConfigInput> = {}) {
    const mock = laggingRds(lagMinutes, copy);
    try {
      const config = drillConfig({ targets: { rpoMinutes: 5, rtoMinutes: 30 }, ...overrides });
      const recovery = new RdsRecovery(new RDSClient({ region: REGION }), {
        region: REGION,
        sourceDbInstanceId: SOURCE,
        instancePrefix: config.drill.instancePrefix,
        instanceClass: config.drill.instanceClass,
        dbSubnetGroupName: 'recovery-drill-isolated',
        vpcSecurityGroupIds: [],
      });
      const result = await runStepDrill({
        config,
        mode: 'aws',
        recovery,
        instanceUrl: async (id) => copies.get(id) ?? null,
        app,
        adminPassword: PASSWORD,
        dir,
        input: { targetTime: 'latest', reason: 'quarterly drill' },
      });
      const restoreCall = mock.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]?.args[0].input;
      return { ...result, restoreCall, deleted: mock.commandCalls(DeleteDBInstanceCommand).length };
    } finally {
      mock.restore();
    }
  }

  it('raises RPO_BREACHED when the source lags more than the RPO target: P is its LatestRestorableTime, the quiet copy passes integrity', async () => {
    const result = await drill(10, quietCopy);
    const report = result.report;
    expect(result.failed).toBeNull();
    expect(result.restoreCall?.UseLatestRestorableTime).toBe(true);
    expect(report).toMatchObject({
      passed: false,
      requestedTarget: 'latest',
      // T: the drill's start.
      targetTime: report?.startedAt,
      restorePointSource: 'latest-restorable-time',
    });
    expect(report?.escalations.map((e) => e.class)).toEqual(['RPO_BREACHED']);
    // RPO = T − P: the ten minutes of lag, a moment more while the restore was being asked for.
    expect(report?.rpoMinutes).toBeGreaterThanOrEqual(10);
    expect(report?.rpoMinutes).toBeLessThan(10.5);
    const p = Date.parse(report?.restorePointAt ?? '');
    const t = Date.parse(report?.targetTime ?? '');
    expect((t - p) / MINUTE).toBeCloseTo(report?.rpoMinutes ?? Number.NaN, 1);
    // Two hours of quiet are no integrity failure, and only a note where no heartbeat proves otherwise.
    expect(report?.steps.find((s) => s.name === 'integrity')?.outcome).toBe('passed');
    expect(report?.newestRowLagMinutes).toBeGreaterThan(119);
    expect(report?.notes).toEqual([
      expect.stringMatching(/^the newest critical row is \d+(\.\d+)? min older than T/),
    ]);
    expect(report?.heartbeat).toMatchObject({ status: 'not-set-up', expected: false, passed: true });
    const escalation = report?.escalations[0];
    expect(escalation?.evidence).toMatchObject({
      rpoMinutes: report?.rpoMinutes,
      targetRpoMinutes: 5,
      targetTime: report?.targetTime,
      restorePointAt: report?.restorePointAt,
      restorePointSource: 'latest-restorable-time',
    });
    // The app's own arithmetic over the same moments agrees.
    expect(report?.appVerdict).toMatchObject({ httpStatus: 200, rpoPassed: false });
    expect(report?.deviations.filter((d) => d.kind === 'APP_VERDICT_MISMATCH')).toEqual([]);
    // Every rendering says T, P and where P came from, and that the RPO is the engine's alone.
    expect(result.markdown).toContain(
      '| Restore point (P) | ' +
        `${report?.restorePointAt}, from the engine: the source's RDS LatestRestorableTime when the restore started (restored with UseLatestRestorableTime) |`,
    );
    expect(result.markdown).toContain(
      "| Heartbeat (data-proven bound) | not proven by data: heartbeat.mode is none; the RPO is the engine's alone |",
    );
    expect(result.html).toContain('not proven by data: heartbeat.mode is none');
    const notified = result.printed.join('\n');
    expect(notified).toContain(
      `measured from T ${report?.targetTime} to P ${report?.restorePointAt} (P from latest-restorable-time)`,
    );
    expect(notified).toContain(
      `Recovery drill ${report?.drillId} FAILED: target latest, T ${report?.targetTime}, P ${report?.restorePointAt} (latest-restorable-time), RPO not proven by data (no heartbeat); RPO ${report?.rpoMinutes} min`,
    );
    expect(result.deleted).toBe(1);
  });

  it('passes with the engine RPO alone when the lag is within the target and no heartbeat is set up', async () => {
    const result = await drill(2, quietCopy);
    expect(result.failed).toBeNull();
    expect(result.report?.passed).toBe(true);
    expect(result.report?.rpoMinutes).toBeGreaterThanOrEqual(2);
    expect(result.report?.rpoMinutes).toBeLessThan(2.5);
    expect(result.report?.heartbeat?.detail).toBe(
      "not proven by data: heartbeat.mode is none; the RPO is the engine's alone",
    );
  });

  it('proves the RPO by the heartbeat in the copy where it is set up, and shows the bound', async () => {
    const result = await drill(2, beatingCopy, { heartbeat: { mode: 'pg_cron' } });
    const report = result.report;
    expect(result.failed).toBeNull();
    expect(report?.passed).toBe(true);
    expect(report?.heartbeat).toMatchObject({ status: 'proven', expected: true, passed: true });
    expect(report?.heartbeat?.boundMinutes).toBeLessThan(1);
    // The engine's RPO and the proven bound, both reported; no note about the quiet critical tables.
    expect(report?.rpoMinutes).toBeGreaterThanOrEqual(2);
    expect(report?.notes).toEqual([]);
    expect(result.markdown).toMatch(
      /\| Heartbeat \(data-proven bound\) \| RPO ≤ \d+(\.\d+)? min, proven by data: the restored copy's newest heartbeat at or before T is /,
    );
  });

  it('raises RPO_BREACHED with the evidence when the heartbeat is set up but missing from the copy', async () => {
    const result = await drill(2, quietCopy, { heartbeat: { mode: 'pg_cron' } });
    const report = result.report;
    expect(result.failed).toBeNull();
    expect(report?.passed).toBe(false);
    expect(report?.escalations.map((e) => e.class)).toEqual(['RPO_BREACHED']);
    expect(report?.escalations[0]?.message).toMatch(
      /^heartbeat: the heartbeat table "recovery_drill"\."heartbeat" is not in the restored copy: expected a beat at or after /,
    );
    expect(report?.escalations[0]?.evidence).toMatchObject({
      heartbeat: 'missing',
      newestHeartbeatAt: null,
      heartbeatExpectedBy: new Date(Date.parse(report?.targetTime ?? '') - 6 * MINUTE).toISOString(),
    });
    expect(result.markdown).toContain('(the heartbeat does not prove it)');
  });
});
