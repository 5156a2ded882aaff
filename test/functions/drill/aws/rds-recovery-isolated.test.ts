/**
 * The RDS adapter restoring from the isolated copy (issue 14 item 3), in the copy region.
 *
 * - `isolated-snapshot` runs against moto_server: CreateDBSnapshot in the source region,
 *   CopyDBSnapshot to the copy region (as the snapshot function does), RestoreDBInstanceFromDBSnapshot
 *   there, all real moto calls.
 * - `isolated-region` uses an SDK client mock (aws-sdk-client-mock): moto 5.2 has no replicated
 *   automated backups (no StartDBInstanceAutomatedBackupsReplication; its
 *   DescribeDBInstanceAutomatedBackups lists only local automated snapshots) and its
 *   RestoreDBInstanceToPointInTime ignores SourceDBInstanceAutomatedBackupsArn (it restores
 *   whichever instance it finds first by identifier), so it could not fail when the ARN is wrong.
 */

import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CopyDBSnapshotCommand,
  CreateDBSnapshotCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MANAGED_TAG, MANAGED_TAG_VALUE, SOURCE_TAG } from '../../../../functions/core/contracts.ts';
import { InputError } from '../../../../functions/core/errors.ts';
import { regionOfData } from '../../../../functions/drill/adapters/aws/rds-origins.ts';
import {
  FROM_TAG,
  RdsRecovery,
  type RdsRecoveryOptions,
  RESTORE_POINT_SOURCE_TAG,
  RESTORE_POINT_TAG,
  SOURCE_BACKUP_TAG,
} from '../../../../functions/drill/adapters/aws/rds-recovery.ts';
import {
  DRILL_ID_TAG,
  RestoreTimeOutOfRangeError,
} from '../../../../functions/drill/ports/database-recovery.ts';
import { MOTO_CREDENTIALS, type Moto, startMoto } from '../../../support/moto.ts';
import { createSource, defaultNetwork, motoClients, REGION } from './support.ts';

const SOURCE = 'bt-cts-prod';
const COPY_REGION = 'eu-central-1';
const ACCOUNT = '123456789012';
const managed = [
  { Key: MANAGED_TAG, Value: MANAGED_TAG_VALUE },
  { Key: SOURCE_TAG, Value: SOURCE },
];

function options(overrides: Partial<RdsRecoveryOptions> = {}): RdsRecoveryOptions {
  return {
    region: COPY_REGION,
    sourceDbInstanceId: SOURCE,
    instancePrefix: 'recovery-drill',
    instanceClass: 'db.t4g.medium',
    dbSubnetGroupName: 'recovery-drill-isolated',
    vpcSecurityGroupIds: [],
    servesFrom: ['isolated-region', 'isolated-snapshot'],
    ...overrides,
  };
}

describe('the region of a drill', () => {
  it('is the source region for source, the copy region for the isolated copy', () => {
    const config = { source: { region: REGION }, isolation: { copyRegion: COPY_REGION } };
    expect(regionOfData('source', config)).toBe(REGION);
    expect(regionOfData('isolated-region', config)).toBe(COPY_REGION);
    expect(regionOfData('isolated-snapshot', config)).toBe(COPY_REGION);
  });
});

describe('a drill from the isolated snapshot copy, against moto', () => {
  let moto: Moto;
  let sourceRds: RDSClient;
  let copyRds: RDSClient;
  let securityGroupId: string;
  let newestCopy: string;
  let copyKeyArn: string;

  /** A snapshot of the source copied to the copy region, as the snapshot function makes them. */
  async function copied(id: string, tags = managed): Promise<void> {
    const made = await sourceRds.send(
      new CreateDBSnapshotCommand({ DBInstanceIdentifier: SOURCE, DBSnapshotIdentifier: id, Tags: tags }),
    );
    await copyRds.send(
      new CopyDBSnapshotCommand({
        SourceDBSnapshotIdentifier: made.DBSnapshot?.DBSnapshotArn,
        TargetDBSnapshotIdentifier: `${id}-copy`,
        KmsKeyId: copyKeyArn,
        Tags: tags,
      }),
    );
  }

  beforeAll(async () => {
    moto = await startMoto();
    sourceRds = motoClients(moto.endpoint).rds;
    copyRds = motoClients(moto.endpoint, COPY_REGION).rds;
    await createSource(sourceRds, SOURCE);
    const kms = new KMSClient({
      endpoint: moto.endpoint,
      region: COPY_REGION,
      credentials: MOTO_CREDENTIALS,
    });
    copyKeyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    kms.destroy();
    const network = await defaultNetwork(moto.endpoint, COPY_REGION);
    securityGroupId = network.securityGroupId;
    await copyRds.send(
      new CreateDBSubnetGroupCommand({
        DBSubnetGroupName: 'recovery-drill-isolated',
        DBSubnetGroupDescription: 'isolated drill subnets in the copy region',
        SubnetIds: [network.subnetId],
      }),
    );
    await copied('rd-bt-cts-prod-2026-11-24');
    await copied('rd-bt-cts-prod-2026-11-25');
    newestCopy = 'rd-bt-cts-prod-2026-11-25-copy';
    // Newer, but not ours: an unmanaged copy and another source's must never be restored.
    await copied('manual-by-someone', [{ Key: SOURCE_TAG, Value: SOURCE }]);
    await copied('rd-other-db-2026-11-25', [
      { Key: MANAGED_TAG, Value: MANAGED_TAG_VALUE },
      { Key: SOURCE_TAG, Value: 'other-db' },
    ]);
  });
  afterAll(async () => {
    sourceRds?.destroy();
    copyRds?.destroy();
    await moto?.stop();
  });

  const recovery = () =>
    new RdsRecovery(
      copyRds,
      options({ vpcSecurityGroupIds: [securityGroupId], source: { region: REGION, rds: sourceRds } }),
    );

  it('restores the newest managed copy in the copy region; P is when its data was taken', async () => {
    const window = await recovery().restorableWindow('isolated-snapshot');
    expect(window.latest).toBeInstanceOf(Date);
    const described = await recovery().restoreToPointInTime({
      instanceId: 'recovery-drill-s1',
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: 's1' },
      from: 'isolated-snapshot',
    });
    expect(described.restorePointSource).toBe('snapshot-creation-time');
    expect(described.sourceBackup).toBe(newestCopy);
    expect(described.restorePointAt).toBe((window.latest as Date).toISOString());
    const out = await copyRds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'recovery-drill-s1' }),
    );
    const instance = out.DBInstances?.[0];
    expect(instance?.DBSubnetGroup?.DBSubnetGroupName).toBe('recovery-drill-isolated');
    const tags = Object.fromEntries((instance?.TagList ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({
      [DRILL_ID_TAG]: 's1',
      [FROM_TAG]: 'isolated-snapshot',
      [SOURCE_BACKUP_TAG]: newestCopy,
      [RESTORE_POINT_SOURCE_TAG]: 'snapshot-creation-time',
    });
    expect(tags[RESTORE_POINT_TAG]).toBe(described.restorePointAt);
    // Nothing was restored in the source region.
    await expect(
      sourceRds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'recovery-drill-s1' })),
    ).rejects.toMatchObject({ name: 'DBInstanceNotFoundFault' });
  });

  it('refuses a target before the oldest copy, naming it, and creates nothing', async () => {
    const window = await recovery().restorableWindow('isolated-snapshot');
    const before = new Date((window.earliest as Date).getTime() - 60_000);
    const attempt = recovery().restoreToPointInTime({
      instanceId: 'recovery-drill-s2',
      targetTime: before,
      tags: { [DRILL_ID_TAG]: 's2' },
      from: 'isolated-snapshot',
    });
    await expect(attempt).rejects.toBeInstanceOf(RestoreTimeOutOfRangeError);
    await expect(attempt).rejects.toThrow(/oldest snapshot copy of bt-cts-prod in eu-central-1/);
    await expect(
      copyRds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'recovery-drill-s2' })),
    ).rejects.toMatchObject({ name: 'DBInstanceNotFoundFault' });
  });

  it('refuses a drill from the source here: it runs in the source region', async () => {
    const attempt = recovery().restoreToPointInTime({
      instanceId: 'recovery-drill-s3',
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: 's3' },
      from: 'source',
    });
    await expect(attempt).rejects.toBeInstanceOf(InputError);
    await expect(attempt).rejects.toMatchObject({ field: 'from', value: 'source' });
    await expect(recovery().restorableWindow('source')).rejects.toMatchObject({ field: 'from' });
  });

  it('says there is no copy rather than restoring something else', async () => {
    const empty = new RdsRecovery(
      copyRds,
      options({ sourceDbInstanceId: 'never-copied', source: { region: REGION, rds: sourceRds } }),
    );
    await expect(
      empty.restoreToPointInTime({
        instanceId: 'recovery-drill-s4',
        targetTime: 'latest',
        tags: { [DRILL_ID_TAG]: 's4' },
        from: 'isolated-snapshot',
      }),
    ).rejects.toThrow(/there is none available/);
  });
});

describe('a drill from the replicated automated backups (SDK client mock: see the header)', () => {
  const BACKUPS_ARN = `arn:aws:rds:${COPY_REGION}:${ACCOUNT}:auto-backup:ab-replicated`;
  const earliest = new Date('2026-11-20T00:00:00Z');
  const latest = new Date('2026-11-26T09:55:00Z');
  // Instance mocks: a class mock would also catch the moto clients of the tests above.
  let sourceMock: ReturnType<typeof mockClient>;
  let copyMock: ReturnType<typeof mockClient>;
  let sourceRds: RDSClient;
  let copyRds: RDSClient;

  beforeEach(() => {
    sourceRds = new RDSClient({ region: REGION });
    copyRds = new RDSClient({ region: COPY_REGION });
    sourceMock = mockClient(sourceRds);
    copyMock = mockClient(copyRds);
    sourceMock
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: SOURCE })
      .resolves({ DBInstances: [{ DBInstanceIdentifier: SOURCE, DbiResourceId: 'db-SOURCE' }] });
    copyMock.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({
      DBInstanceAutomatedBackups: [
        // A deleted namesake's retained backups: another resource id, never used.
        {
          DBInstanceIdentifier: SOURCE,
          DbiResourceId: 'db-OLD',
          DBInstanceAutomatedBackupsArn: `${BACKUPS_ARN}-old`,
          Status: 'retained',
          RestoreWindow: {
            EarliestTime: new Date('2026-10-01T00:00:00Z'),
            LatestTime: new Date('2026-10-05T00:00:00Z'),
          },
        },
        {
          DBInstanceIdentifier: SOURCE,
          DbiResourceId: 'db-SOURCE',
          DBInstanceAutomatedBackupsArn: BACKUPS_ARN,
          Status: 'replicating',
          RestoreWindow: { EarliestTime: earliest, LatestTime: latest },
        },
      ],
    });
    copyMock.on(RestoreDBInstanceToPointInTimeCommand).resolves({
      DBInstance: { DBInstanceIdentifier: 'recovery-drill-r1', DBInstanceStatus: 'creating' },
    });
  });

  const recovery = (now = () => new Date('2026-11-26T10:00:00Z')) =>
    new RdsRecovery(copyRds, options({ source: { region: REGION, rds: sourceRds } }), now);

  it("finds the backups by the source's DbiResourceId and restores from their ARN in the copy region", async () => {
    const described = await recovery().restoreToPointInTime({
      instanceId: 'recovery-drill-r1',
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: 'r1' },
      from: 'isolated-region',
    });
    const [filter] = copyMock.commandCalls(DescribeDBInstanceAutomatedBackupsCommand);
    expect(filter?.args[0].input).toEqual({ Filters: [{ Name: 'dbi-resource-id', Values: ['db-SOURCE'] }] });
    const [call] = copyMock.commandCalls(RestoreDBInstanceToPointInTimeCommand);
    const input = call?.args[0].input;
    expect(input).toMatchObject({
      SourceDBInstanceAutomatedBackupsArn: BACKUPS_ARN,
      TargetDBInstanceIdentifier: 'recovery-drill-r1',
      UseLatestRestorableTime: true,
      PubliclyAccessible: false,
      ManageMasterUserPassword: true,
      DBSubnetGroupName: 'recovery-drill-isolated',
    });
    expect(input).not.toHaveProperty('SourceDBInstanceIdentifier');
    // P: the replicated backups' latest restorable time when the restore was asked.
    expect(described.restorePointAt).toBe(latest.toISOString());
    expect(described.restorePointSource).toBe('replicated-latest-restorable-time');
    expect(described.sourceBackup).toBe(BACKUPS_ARN);
    expect(described.tags[FROM_TAG]).toBe('isolated-region');
  });

  it('restores a chosen time within the replicated window and refuses one past it', async () => {
    const within = new Date('2026-11-26T09:00:00Z');
    const described = await recovery().restoreToPointInTime({
      instanceId: 'recovery-drill-r2',
      targetTime: within,
      tags: { [DRILL_ID_TAG]: 'r2' },
      from: 'isolated-region',
    });
    expect(described.restorePointSource).toBe('requested-time');
    expect(
      copyMock.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]?.args[0].input.RestoreTime,
    ).toEqual(within);
    copyMock.resetHistory();
    const past = recovery().restoreToPointInTime({
      instanceId: 'recovery-drill-r3',
      targetTime: new Date('2026-11-26T09:58:00Z'),
      tags: { [DRILL_ID_TAG]: 'r3' },
      from: 'isolated-region',
    });
    await expect(past).rejects.toBeInstanceOf(RestoreTimeOutOfRangeError);
    await expect(past).rejects.toThrow(/replicated to eu-central-1/);
    expect(copyMock.commandCalls(RestoreDBInstanceToPointInTimeCommand)).toHaveLength(0);
  });

  it('reports the replicated window as the restorable window', async () => {
    expect(await recovery().restorableWindow('isolated-region')).toEqual({ earliest, latest });
  });

  it('refuses when nothing is replicated, saying where it looked, and restores nothing', async () => {
    copyMock.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [] });
    const attempt = recovery().restoreToPointInTime({
      instanceId: 'recovery-drill-r4',
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: 'r4' },
      from: 'isolated-region',
    });
    await expect(attempt).rejects.toThrow(/replicated to eu-central-1: none found/);
    expect(copyMock.commandCalls(RestoreDBInstanceToPointInTimeCommand)).toHaveLength(0);
  });
});
