/**
 * Point-in-time restore in the isolated region: the snapshot job sets up and keeps the
 * cross-Region replication of the source's automated backups, and the RPO monitor watches the
 * replicated restore window per location.
 *
 * moto (5.2) does not implement `StartDBInstanceAutomatedBackupsReplication`, and its
 * `DescribeDBInstanceAutomatedBackups` lists only the region's own automated snapshots (no
 * replicated backups, no `RestoreWindow`). Those two calls in the copy region are therefore
 * answered by an SDK client mock (aws-sdk-client-mock); every other call (the source instance,
 * its backup retention and encryption, the KMS alias of the copy key, snapshots, SNS, SQS,
 * DynamoDB) goes to moto_server.
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  CreateDBInstanceCommand,
  type DBInstanceAutomatedBackup,
  DescribeDBInstanceAutomatedBackupsCommand,
  RDSClient,
  StartDBInstanceAutomatedBackupsReplicationCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { ensureReplication } from '../../functions/shared/aws/automated-backups.ts';
import type { RdsApi } from '../../functions/shared/aws/rds-snapshots.ts';
import { runRpoMonitor } from '../../functions/shared/jobs/rpo-monitor.ts';
import { runSnapshot } from '../../functions/shared/jobs/snapshot.ts';
import { MOTO_ACCOUNT_ID } from '../support/moto.ts';
import {
  COPY_REGION,
  clientConfig,
  createCopyKey,
  createForeignSnapshot,
  createStateTable,
  createTopicWithInbox,
  recorder,
  rpoMonitorEnv,
  SOURCE_REGION,
  snapshotEnv,
  uniqueId,
  useMotoClients,
} from './fixtures.ts';

const aws = useMotoClients();
const MINUTE = 60_000;

/**
 * The copy region's RDS: the replication calls go to a client mock (moto lacks them), the rest to
 * moto. `replicated` is what DescribeDBInstanceAutomatedBackups answers.
 */
function copyRegionRds(replicated: DBInstanceAutomatedBackup[] = []) {
  const mocked = new RDSClient(clientConfig('http://127.0.0.1:9', COPY_REGION));
  const mock = mockClient(mocked);
  mock
    .on(DescribeDBInstanceAutomatedBackupsCommand)
    .callsFake(() => ({ DBInstanceAutomatedBackups: replicated }));
  mock.on(StartDBInstanceAutomatedBackupsReplicationCommand).resolves({});
  const rds: RdsApi = {
    send: ((command: unknown) =>
      command instanceof DescribeDBInstanceAutomatedBackupsCommand ||
      command instanceof StartDBInstanceAutomatedBackupsReplicationCommand
        ? mocked.send(command as never)
        : aws.clients.copyRds.send(command as never)) as RdsApi['send'],
  };
  return { rds, mock, replicated };
}

/** A source instance in moto: encrypted with a source-region key unless told otherwise. */
async function createSource({ retention = 7, encrypted = true } = {}) {
  const id = uniqueId();
  const key = encrypted
    ? await aws.clients.sourceKms.send(new CreateKeyCommand({ Description: 'source key' }))
    : null;
  const out = await aws.clients.sourceRds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      Engine: 'postgres',
      DBInstanceClass: 'db.t4g.micro',
      AllocatedStorage: 20,
      MasterUsername: 'app',
      MasterUserPassword: 'not-a-real-password',
      BackupRetentionPeriod: retention,
      ...(key ? { StorageEncrypted: true, KmsKeyId: key.KeyMetadata?.Arn } : {}),
    }),
  );
  return { id, arn: out.DBInstance?.DBInstanceArn ?? '' };
}

function replicatedBackupOf(
  sourceArn: string,
  overrides: Partial<DBInstanceAutomatedBackup> = {},
): DBInstanceAutomatedBackup {
  return {
    DBInstanceArn: sourceArn,
    DBInstanceAutomatedBackupsArn: `arn:aws:rds:${COPY_REGION}:${MOTO_ACCOUNT_ID}:auto-backup:ab-${uniqueId('x')}`,
    Region: SOURCE_REGION,
    Status: 'replicating',
    BackupRetentionPeriod: 7,
    RestoreWindow: { EarliestTime: new Date(Date.now() - 86_400_000), LatestTime: new Date() },
    ...overrides,
  };
}

describe('ensureReplication', () => {
  it('starts the replication with the source’s retention and the copy key’s ARN behind its alias', async () => {
    const source = await createSource({ retention: 7 });
    const key = await createCopyKey(aws.clients.copyKms);
    const copy = copyRegionRds();
    const deps = { sourceRds: aws.clients.sourceRds, copyRds: copy.rds, copyKms: aws.clients.copyKms };
    const input = { sourceDbInstanceId: source.id, copyRegion: COPY_REGION, copyKmsKeyId: key.aliasArn };

    const outcome = await ensureReplication(deps, input);
    expect(outcome).toEqual({ status: 'started', retentionDays: 7, kmsKeyId: key.keyArn });
    const starts = copy.mock.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand);
    expect(starts.map((c) => c.args[0].input)).toEqual([
      { SourceDBInstanceArn: source.arn, BackupRetentionPeriod: 7, KmsKeyId: key.keyArn },
    ]);

    // Once RDS replicates as asked, a second run changes nothing.
    copy.replicated.push(replicatedBackupOf(source.arn, { KmsKeyId: key.keyArn }));
    const again = await ensureReplication(deps, input);
    expect(again).toMatchObject({ status: 'in-sync', retentionDays: 7, kmsKeyId: key.keyArn });
    expect(copy.mock.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand)).toHaveLength(1);
  });

  it('reports a replication with another retention or key as drift and changes nothing', async () => {
    const source = await createSource({ retention: 7 });
    const key = await createCopyKey(aws.clients.copyKms);
    const other = `arn:aws:kms:${COPY_REGION}:${MOTO_ACCOUNT_ID}:key/00000000-0000-0000-0000-000000000000`;
    const copy = copyRegionRds([
      replicatedBackupOf(source.arn, { BackupRetentionPeriod: 3, KmsKeyId: other }),
    ]);
    const outcome = await ensureReplication(
      { sourceRds: aws.clients.sourceRds, copyRds: copy.rds, copyKms: aws.clients.copyKms },
      { sourceDbInstanceId: source.id, copyRegion: COPY_REGION, copyKmsKeyId: key.aliasArn },
    );
    expect(outcome).toMatchObject({
      status: 'drift',
      drift: [
        { field: 'backupRetentionPeriod', expected: "7 days (the source's)", actual: '3 days' },
        { field: 'kmsKeyId', expected: key.keyArn, actual: other },
      ],
    });
    expect(copy.mock.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand)).toEqual([]);
  });

  it('starts nothing for a source without automated backups, and passes no key for an unencrypted one', async () => {
    const off = await createSource({ retention: 0, encrypted: false });
    const key = await createCopyKey(aws.clients.copyKms);
    const copy = copyRegionRds();
    const deps = { sourceRds: aws.clients.sourceRds, copyRds: copy.rds, copyKms: aws.clients.copyKms };
    expect(
      await ensureReplication(deps, {
        sourceDbInstanceId: off.id,
        copyRegion: COPY_REGION,
        copyKmsKeyId: key.aliasArn,
      }),
    ).toEqual({
      status: 'unavailable',
      reason: `source instance ${off.id} has backup retention 0 (automated backups off): there is nothing to replicate`,
    });
    expect(copy.mock.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand)).toEqual([]);

    const plain = await createSource({ retention: 5, encrypted: false });
    expect(
      await ensureReplication(deps, {
        sourceDbInstanceId: plain.id,
        copyRegion: COPY_REGION,
        copyKmsKeyId: key.aliasArn,
      }),
    ).toEqual({ status: 'started', retentionDays: 5, kmsKeyId: null });
    expect(
      copy.mock.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand)[0]?.args[0].input,
    ).toEqual({
      SourceDBInstanceArn: plain.arn,
      BackupRetentionPeriod: 5,
    });
  });
});

describe('the snapshot job keeps the replication', () => {
  async function setup(replicated: (arn: string, keyArn: string) => DBInstanceAutomatedBackup[] = () => []) {
    const source = await createSource({ retention: 7 });
    const key = await createCopyKey(aws.clients.copyKms);
    const inbox = await createTopicWithInbox(aws.clients);
    const copy = copyRegionRds(replicated(source.arn, key.keyArn));
    const rec = recorder();
    const deps = {
      env: snapshotEnv(source.id, inbox.topicArn, { copyKmsKeyId: key.aliasArn, pitrReplication: true }),
      sourceRds: aws.clients.sourceRds,
      copyRds: copy.rds,
      copyKms: aws.clients.copyKms,
      sns: aws.clients.sns,
      logger: rec.logger,
      metrics: rec.metricsSink,
    };
    return { source, key, inbox, copy, rec, deps };
  }

  it('starts it on the scheduled run and on the deploy’s custom resource, and keeps it on Delete', async () => {
    const { copy, rec, deps, key } = await setup();
    const result = await runSnapshot({}, deps);
    expect(result.replication).toEqual({ status: 'started', retentionDays: 7, kmsKeyId: key.keyArn });
    expect(rec.metric('PitrReplicationStarted')).toEqual([1]);

    const created = await runSnapshot({ RequestType: 'Create' }, deps);
    expect(created).toMatchObject({ Data: { Status: 'started' } });
    expect(copy.mock.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand)).toHaveLength(2);

    const deleted = await runSnapshot({ RequestType: 'Delete', PhysicalResourceId: 'pitr-1' }, deps);
    expect(deleted).toEqual({ PhysicalResourceId: 'pitr-1' });
    expect(copy.mock.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand)).toHaveLength(2);
  });

  it('escalates a drift as a warning and leaves the replication as it is', async () => {
    const { source, inbox, copy, deps } = await setup((arn, keyArn) => [
      replicatedBackupOf(arn, { BackupRetentionPeriod: 1, KmsKeyId: keyArn }),
    ]);
    const result = await runSnapshot({}, deps);
    expect(result.replication).toMatchObject({ status: 'drift' });
    expect(copy.mock.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand)).toEqual([]);
    const messages = await inbox.drain();
    const drift = messages.find((m) => String(m.body.message).includes('point-in-time replication'));
    expect(drift?.attributes).toMatchObject({ class: 'BACKUP_FAILED', severity: 'warning' });
    expect(drift?.body.message).toBe(
      `point-in-time replication of ${source.id} to ${COPY_REGION}: replication differs from the configuration, left unchanged: backupRetentionPeriod is 1 days, expected 7 days (the source's)`,
    );
  });
});

describe('the RPO monitor watches the replicated restore window', () => {
  async function setup(replicated: (arn: string) => DBInstanceAutomatedBackup[]) {
    const source = await createSource({ retention: 7 });
    const managed = [
      { Key: 'recovery-drill:managed', Value: 'true' },
      { Key: 'recovery-drill:source', Value: source.id },
    ];
    await createForeignSnapshot(aws.clients.sourceRds, source.id, `rd-${source.id}-2026-11-26`, managed);
    // moto copies only within its own backend: a snapshot of an instance of the same name stands in for the copy.
    await aws.clients.copyRds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: source.id,
        Engine: 'postgres',
        DBInstanceClass: 'db.t4g.micro',
        AllocatedStorage: 20,
        MasterUsername: 'app',
        MasterUserPassword: 'not-a-real-password',
      }),
    );
    await createForeignSnapshot(aws.clients.copyRds, source.id, `rd-${source.id}-2026-11-26`, managed);
    const inbox = await createTopicWithInbox(aws.clients);
    const table = await createStateTable(aws.clients.ddb);
    const copy = copyRegionRds(replicated(source.arn));
    const rec = recorder();
    const deps = (now: Date) => ({
      env: rpoMonitorEnv(source.id, inbox.topicArn, table, { pitrReplication: true }),
      sourceRds: aws.clients.sourceRds,
      copyRds: copy.rds,
      ddb: aws.clients.ddb,
      sns: aws.clients.sns,
      logger: rec.logger,
      metrics: rec.metricsSink,
      now: () => now,
    });
    return { source, inbox, copy, rec, deps };
  }

  it('publishes the lag per location and opens a copy-region incident of its own', async () => {
    // moto's LatestRestorableTime is always now; the replicated window ends 95 minutes ago.
    const { source, inbox, copy, rec, deps } = await setup((arn) => [
      replicatedBackupOf(arn, {
        RestoreWindow: {
          EarliestTime: new Date(Date.now() - 86_400_000),
          LatestTime: new Date(Date.now() - 95 * MINUTE),
        },
      }),
    ]);
    const check = await runRpoMonitor({}, deps(new Date()));
    expect(check.locations.map((l) => [l.location, l.stale, l.incident])).toEqual([
      ['source', false, 'none'],
      ['copy', true, 'opened'],
    ]);
    expect(check.locations[1]?.lagMinutes).toBeGreaterThanOrEqual(95);
    expect(
      rec.metricWith('RestorableLagMinutes', { location: 'copy', region: COPY_REGION })[0],
    ).toBeGreaterThanOrEqual(95);
    expect(
      rec.metricWith('RestorableLagMinutes', { location: 'source', region: SOURCE_REGION }),
    ).toHaveLength(1);
    expect(rec.metricWith('BackupStale', { location: 'copy' })).toEqual([1]);
    expect(rec.metricWith('BackupStale', { location: 'source' })).toEqual([0]);

    const [escalation, ...none] = await inbox.drain();
    expect(none).toEqual([]);
    expect(escalation?.attributes).toMatchObject({ class: 'BACKUP_STALE', severity: 'critical' });
    expect(escalation?.body).toMatchObject({
      id: `rpo-monitor/${source.id}@${COPY_REGION}`,
      evidence: { location: 'copy', region: COPY_REGION },
    });
    expect(String(escalation?.body.message)).toMatch(
      new RegExp(
        `^In the copy region ${COPY_REGION}: the replicated restore window in ${COPY_REGION} \\(copy\\) ends at `,
      ),
    );
    expect(escalation?.subject).toContain(`${source.id}@${COPY_REGION}`);

    // The window catches up: the copy region's incident closes, the source never had one.
    const [window] = copy.replicated;
    if (window) window.RestoreWindow = { LatestTime: new Date() };
    const recovered = await runRpoMonitor({}, deps(new Date()));
    expect(recovered.locations.map((l) => l.incident)).toEqual(['none', 'resolved']);
    const [resolution] = await inbox.drain();
    expect(resolution?.attributes).toMatchObject({ class: 'BACKUP_STALE', kind: 'resolution' });
    expect(String(resolution?.body.message)).toMatch(
      new RegExp(`^Backups in the copy region ${COPY_REGION} are within`),
    );
  });

  it('calls the copy region stale when nothing replicates there', async () => {
    const { source, deps } = await setup(() => []);
    const check = await runRpoMonitor({}, deps(new Date()));
    expect(check.locations[1]?.reasons).toEqual([
      `no replicated automated backups of ${source.id} in ${COPY_REGION} (copy): replication is off, stopped or not started; the snapshot function starts it`,
    ]);
    expect(check.locations[0]?.stale).toBe(false);
  });
});
