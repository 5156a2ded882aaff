import {
  CreateDBSubnetGroupCommand,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../../functions/core/errors.ts';
import {
  mapStatus,
  RdsRecovery,
  RESTORE_POINT_SOURCE_TAG,
  RESTORE_POINT_TAG,
  TARGET_TIME_TAG,
} from '../../../../functions/drill/adapters/aws/rds-recovery.ts';
import {
  DRILL_ID_TAG,
  NotADrillInstanceError,
  RestoreTimeOutOfRangeError,
} from '../../../../functions/drill/ports/database-recovery.ts';
import { type Moto, startMoto } from '../../../support/moto.ts';
import { createPlainInstance, createSource, defaultNetwork, motoClients, REGION } from './support.ts';

const SOURCE = 'bt-cts-prod';

function options(overrides: Partial<ConstructorParameters<typeof RdsRecovery>[1]> = {}) {
  return {
    region: REGION,
    sourceDbInstanceId: SOURCE,
    instancePrefix: 'recovery-drill',
    instanceClass: 'db.t4g.medium',
    dbSubnetGroupName: 'recovery-drill-isolated',
    vpcSecurityGroupIds: [] as string[],
    ...overrides,
  };
}

describe('RDS recovery adapter against moto', () => {
  let moto: Moto;
  let rds: RDSClient;
  let securityGroupId: string;

  beforeAll(async () => {
    moto = await startMoto();
    rds = motoClients(moto.endpoint).rds;
    await createSource(rds, SOURCE);
    const network = await defaultNetwork(moto.endpoint);
    securityGroupId = network.securityGroupId;
    await rds.send(
      new CreateDBSubnetGroupCommand({
        DBSubnetGroupName: 'recovery-drill-isolated',
        DBSubnetGroupDescription: 'isolated drill subnets',
        SubnetIds: [network.subnetId],
      }),
    );
  });
  afterAll(async () => {
    rds?.destroy();
    await moto?.stop();
  });

  const recovery = () => new RdsRecovery(rds, options({ vpcSecurityGroupIds: [securityGroupId] }));
  const exists = async (id: string) =>
    rds
      .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))
      .then(() => true)
      .catch((e: Error) => (e.name === 'DBInstanceNotFoundFault' ? false : Promise.reject(e)));

  it('restores the latest restorable time into a private instance tagged with the drill id', async () => {
    const before = Date.now();
    const described = await recovery().restoreToPointInTime({
      instanceId: 'recovery-drill-d1',
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: 'd1' },
    });
    const after = Date.now();
    expect(described.id).toBe('recovery-drill-d1');
    // P: the source's LatestRestorableTime read when the restore started (moto reports "now").
    expect(described.restorePointSource).toBe('latest-restorable-time');
    const p = Date.parse(described.restorePointAt ?? '');
    expect(p).toBeGreaterThanOrEqual(before - 1000);
    expect(p).toBeLessThanOrEqual(after + 1000);
    // The wait step, another invocation, reads P back from the instance.
    expect(await recovery().describeInstance('recovery-drill-d1')).toMatchObject({
      restorePointAt: described.restorePointAt,
      restorePointSource: 'latest-restorable-time',
    });
    const raw = (
      await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'recovery-drill-d1' }))
    ).DBInstances?.[0];
    expect(raw?.DBSubnetGroup?.DBSubnetGroupName).toBe('recovery-drill-isolated');
    expect(raw?.DBInstanceClass).toBe('db.t4g.medium');
    expect(raw?.DeletionProtection).toBe(false);
    expect(raw?.MasterUserSecret?.SecretArn).toMatch(/^arn:aws:secretsmanager:/);
    const tags = Object.fromEntries((raw?.TagList ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({
      [DRILL_ID_TAG]: 'd1',
      'recovery-drill:source': SOURCE,
      [TARGET_TIME_TAG]: 'latest',
      [RESTORE_POINT_TAG]: described.restorePointAt,
      [RESTORE_POINT_SOURCE_TAG]: 'latest-restorable-time',
    });
  });

  it('describes a restored instance as the port expects: status, endpoint, tags and requested target', async () => {
    const target = new Date(Date.now() - 10 * 60_000);
    target.setUTCMilliseconds(0);
    // moto keeps no restore window; the adapter checks the window itself (tested with a mock below).
    await recovery().restoreToPointInTime({
      instanceId: 'recovery-drill-d2',
      targetTime: target,
      tags: { [DRILL_ID_TAG]: 'd2' },
    });
    const described = await recovery().describeInstance('recovery-drill-d2');
    expect(described).toMatchObject({
      id: 'recovery-drill-d2',
      status: 'available',
      targetTime: target.toISOString(),
      // A restore to a time at or before LatestRestorableTime holds every commit up to it: P = the target.
      restorePointAt: target.toISOString(),
      restorePointSource: 'requested-time',
      failureReason: null,
    });
    expect(described?.endpoint?.host).toContain('recovery-drill-d2');
    expect(described?.endpoint?.port).toBe(5432);
    expect(described?.tags[DRILL_ID_TAG]).toBe('d2');
  });

  it('describes an instance that does not exist as null', async () => {
    expect(await recovery().describeInstance('recovery-drill-never')).toBeNull();
  });

  it('deletes a drill instance it restored', async () => {
    await recovery().restoreToPointInTime({
      instanceId: 'recovery-drill-d3',
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: 'd3' },
    });
    await recovery().deleteInstance('recovery-drill-d3');
    const after = await recovery().describeInstance('recovery-drill-d3');
    expect(after === null || after.status === 'deleting').toBe(true);
  });

  it('refuses to delete an instance not tagged as a drill, which still exists afterwards', async () => {
    await createPlainInstance(rds, 'recovery-drill-lookalike');
    await expect(recovery().deleteInstance('recovery-drill-lookalike')).rejects.toBeInstanceOf(
      NotADrillInstanceError,
    );
    await expect(recovery().deleteInstance(SOURCE)).rejects.toBeInstanceOf(NotADrillInstanceError);
    expect(await exists('recovery-drill-lookalike')).toBe(true);
    expect(await exists(SOURCE)).toBe(true);
  });

  it('refuses to delete a tagged instance whose name lacks the drill prefix', async () => {
    await createPlainInstance(rds, 'reporting-replica', { [DRILL_ID_TAG]: 'copied-by-hand' });
    await expect(recovery().deleteInstance('reporting-replica')).rejects.toThrow(
      /not named "recovery-drill-/,
    );
    expect(await exists('reporting-replica')).toBe(true);
  });

  it('refuses a restore without the drill prefix, the drill tag or the isolated subnet group, creating nothing', async () => {
    await expect(
      recovery().restoreToPointInTime({
        instanceId: 'bt-cts-copy',
        targetTime: 'latest',
        tags: { [DRILL_ID_TAG]: 'x' },
      }),
    ).rejects.toMatchObject({ name: 'InputError', field: 'instanceId' });
    await expect(
      recovery().restoreToPointInTime({
        instanceId: 'recovery-drill-untagged',
        targetTime: 'latest',
        tags: {},
      }),
    ).rejects.toMatchObject({ name: 'InputError', field: 'tags' });
    await expect(
      new RdsRecovery(rds, options({ dbSubnetGroupName: null })).restoreToPointInTime({
        instanceId: 'recovery-drill-nosubnets',
        targetTime: 'latest',
        tags: { [DRILL_ID_TAG]: 'x' },
      }),
    ).rejects.toBeInstanceOf(InputError);
    expect(await exists('bt-cts-copy')).toBe(false);
    expect(await exists('recovery-drill-untagged')).toBe(false);
    expect(await exists('recovery-drill-nosubnets')).toBe(false);
  });
});

// moto neither keeps a restore window (DescribeDBInstanceAutomatedBackups has no RestoreWindow) nor
// validates restore times, and its LatestRestorableTime is always "now": the window, the refusal of
// an out-of-range target and a lagging LatestRestorableTime use a mocked client.
describe('RDS recovery adapter restore window', () => {
  const earliest = new Date('2026-11-01T03:00:00Z');
  const latest = new Date('2026-11-26T05:55:00Z');
  const now = () => new Date('2026-11-26T06:00:00Z');

  function mockedRds() {
    const mock = mockClient(RDSClient);
    mock.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        { DBInstanceIdentifier: SOURCE, DbiResourceId: 'db-CURRENT', LatestRestorableTime: latest },
      ],
    });
    mock.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({
      DBInstanceAutomatedBackups: [
        // A deleted namesake's retained backups reach further back, but cannot be restored by this name.
        {
          DbiResourceId: 'db-OLD',
          Status: 'retained',
          RestoreWindow: { EarliestTime: new Date('2026-10-01T00:00:00Z') },
        },
        {
          DbiResourceId: 'db-CURRENT',
          Status: 'active',
          RestoreWindow: { EarliestTime: earliest, LatestTime: latest },
        },
      ],
    });
    mock
      .on(RestoreDBInstanceToPointInTimeCommand)
      .resolves({ DBInstance: { DBInstanceIdentifier: 'recovery-drill-x' } });
    return mock;
  }

  it('records a lagging LatestRestorableTime as P of a latest restore, and restores with UseLatestRestorableTime', async () => {
    const mock = mockedRds();
    const recovery = new RdsRecovery(new RDSClient({ region: REGION }), options(), now);
    const described = await recovery.restoreToPointInTime({
      instanceId: 'recovery-drill-x',
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: 'x' },
    });
    // Five minutes of log-upload lag at 06:00: what a restore then loses.
    expect(described).toMatchObject({
      restorePointAt: latest.toISOString(),
      restorePointSource: 'latest-restorable-time',
    });
    const input = mock.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]?.args[0].input;
    expect(input?.UseLatestRestorableTime).toBe(true);
    expect(input?.RestoreTime).toBeUndefined();
    expect(input?.Tags).toEqual(
      expect.arrayContaining([
        { Key: RESTORE_POINT_TAG, Value: latest.toISOString() },
        { Key: RESTORE_POINT_SOURCE_TAG, Value: 'latest-restorable-time' },
      ]),
    );
    mock.restore();
  });

  it('refuses a latest restore of a source that reports no LatestRestorableTime, calling nothing', async () => {
    const mock = mockedRds();
    mock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: SOURCE }] });
    const recovery = new RdsRecovery(new RDSClient({ region: REGION }), options(), now);
    await expect(
      recovery.restoreToPointInTime({
        instanceId: 'recovery-drill-x',
        targetTime: 'latest',
        tags: { [DRILL_ID_TAG]: 'x' },
      }),
    ).rejects.toThrow(/reports none: are automated backups on/);
    expect(mock.commandCalls(RestoreDBInstanceToPointInTimeCommand)).toHaveLength(0);
    mock.restore();
  });

  it("reads the window from the source's latest restorable time and its own automated backups", async () => {
    const mock = mockedRds();
    const window = await new RdsRecovery(
      new RDSClient({ region: REGION }),
      options(),
      now,
    ).restorableWindow();
    expect(window).toEqual({ earliest, latest });
    mock.restore();
  });

  it('refuses a target before the earliest restorable time without calling RestoreDBInstanceToPointInTime', async () => {
    const mock = mockedRds();
    const recovery = new RdsRecovery(new RDSClient({ region: REGION }), options(), now);
    const attempt = recovery.restoreToPointInTime({
      instanceId: 'recovery-drill-x',
      targetTime: new Date('2026-10-15T00:00:00Z'),
      tags: { [DRILL_ID_TAG]: 'x' },
    });
    await expect(attempt).rejects.toBeInstanceOf(RestoreTimeOutOfRangeError);
    await expect(attempt).rejects.toThrow(/2026-11-01T03:00:00.000Z, 2026-11-26T05:55:00.000Z/);
    expect(mock.commandCalls(RestoreDBInstanceToPointInTimeCommand)).toHaveLength(0);
    mock.restore();
  });

  it('refuses a target after the latest restorable time', async () => {
    const mock = mockedRds();
    const recovery = new RdsRecovery(new RDSClient({ region: REGION }), options(), now);
    await expect(
      recovery.restoreToPointInTime({
        instanceId: 'recovery-drill-x',
        targetTime: new Date('2026-11-26T05:58:00Z'),
        tags: { [DRILL_ID_TAG]: 'x' },
      }),
    ).rejects.toMatchObject({ name: 'RestoreTimeOutOfRangeError', field: 'targetTime' });
    expect(mock.commandCalls(RestoreDBInstanceToPointInTimeCommand)).toHaveLength(0);
    mock.restore();
  });

  it('sends a target inside the window as RestoreTime with the isolation settings', async () => {
    const mock = mockedRds();
    const recovery = new RdsRecovery(
      new RDSClient({ region: REGION }),
      options({ vpcSecurityGroupIds: ['sg-0123456789abcdef0'] }),
      now,
    );
    const target = new Date('2026-11-20T12:00:00Z');
    await recovery.restoreToPointInTime({
      instanceId: 'recovery-drill-x',
      targetTime: target,
      tags: { [DRILL_ID_TAG]: 'x' },
    });
    const input = mock.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      SourceDBInstanceIdentifier: SOURCE,
      TargetDBInstanceIdentifier: 'recovery-drill-x',
      RestoreTime: target,
      DBSubnetGroupName: 'recovery-drill-isolated',
      VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      PubliclyAccessible: false,
      MultiAZ: false,
      DeletionProtection: false,
      ManageMasterUserPassword: true,
    });
    expect(input?.UseLatestRestorableTime).toBeUndefined();
    mock.restore();
  });
});

describe('RDS status mapping', () => {
  it('maps in-progress statuses to creating and unusable ones to failed with the status as the reason', () => {
    expect(mapStatus('backing-up').status).toBe('creating');
    expect(mapStatus('available').status).toBe('available');
    expect(mapStatus('deleting').status).toBe('deleting');
    expect(mapStatus('incompatible-restore')).toEqual({
      status: 'failed',
      failureReason: 'RDS reports the instance as incompatible-restore',
    });
  });
});
