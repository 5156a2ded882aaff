/**
 * Point-in-time restore in the isolated region: RDS cross-Region automated backups replication.
 * RDS ships the source's transaction logs and daily backups to the copy region, so losing the
 * source region costs minutes of data (the replicated restore window's LatestTime), not the day a
 * snapshot copy costs. Set up once, kept by every snapshot run: idempotent, and a replication that
 * differs from what the configuration asks for is reported, never silently changed (changing its
 * retention or key means stopping it, which discards the replicated restore window).
 */
import { DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import {
  type DBInstanceAutomatedBackup,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  StartDBInstanceAutomatedBackupsReplicationCommand,
} from '@aws-sdk/client-rds';
import type { RdsApi } from './rds-snapshots.ts';

/** The only part of a KMS client used: resolving the copy key's alias to its key ARN. */
export type KmsApi = Pick<KMSClient, 'send'>;

/** Statuses of a replicated automated backup that mean it is (or is becoming) a restore window. */
const LIVE_STATUSES = new Set(['pending', 'replicating', 'active']);

/** One way the replication differs from what recovery-drill sets up. */
export interface ReplicationDrift {
  readonly field: 'backupRetentionPeriod' | 'kmsKeyId' | 'region';
  readonly expected: string;
  readonly actual: string;
}

/** What {@link ensureReplication} found or did. */
export type ReplicationOutcome =
  | {
      /** Replication was not running to the copy region: this call started it. */
      readonly status: 'started';
      readonly retentionDays: number;
      readonly kmsKeyId: string | null;
    }
  | {
      /** Running as configured: nothing was changed. */
      readonly status: 'in-sync';
      readonly arn: string;
      readonly retentionDays: number;
      readonly kmsKeyId: string | null;
      readonly latestRestorableTime: string | null;
    }
  | {
      /** Running, but not as configured: reported, nothing was changed. */
      readonly status: 'drift';
      readonly arn: string | null;
      readonly drift: readonly ReplicationDrift[];
    }
  | {
      /** Cannot replicate (no source, or automated backups off): reported, nothing was changed. */
      readonly status: 'unavailable';
      readonly reason: string;
    };

/** One line for a log, an escalation or a custom resource's answer (as `describeDrift` does for schemas). */
export function describeReplication(outcome: ReplicationOutcome): string {
  switch (outcome.status) {
    case 'started':
      return `replication started (retention ${outcome.retentionDays} days${outcome.kmsKeyId ? `, key ${outcome.kmsKeyId}` : ', unencrypted like the source'})`;
    case 'in-sync':
      return `replicating as configured (retention ${outcome.retentionDays} days, latest restorable ${outcome.latestRestorableTime ?? 'not yet known'})`;
    case 'drift':
      return `replication differs from the configuration, left unchanged: ${outcome.drift
        .map((d) => `${d.field} is ${d.actual}, expected ${d.expected}`)
        .join('; ')}`;
    case 'unavailable':
      return `replication not possible: ${outcome.reason}`;
  }
}

/**
 * The replicated automated backups of `sourceDbArn` in the copy client's region, live ones first
 * (a retained one is what a stopped replication left behind).
 */
export async function replicatedBackup(
  copyRds: RdsApi,
  sourceDbArn: string,
): Promise<DBInstanceAutomatedBackup | undefined> {
  const out = await copyRds.send(
    new DescribeDBInstanceAutomatedBackupsCommand({
      Filters: [{ Name: 'db-instance-id', Values: [sourceDbArn] }],
    }),
  );
  const mine = (out.DBInstanceAutomatedBackups ?? []).filter((b) => b.DBInstanceArn === sourceDbArn);
  return mine.find((b) => LIVE_STATUSES.has(b.Status ?? '')) ?? mine[0];
}

/** The key ARN behind a key or alias ARN (RDS reports the key ARN of replicated backups). */
export async function keyArnOf(kms: KmsApi, keyOrAlias: string): Promise<string> {
  if (/:key\//.test(keyOrAlias)) return keyOrAlias;
  const out = await kms.send(new DescribeKeyCommand({ KeyId: keyOrAlias }));
  const arn = out.KeyMetadata?.Arn;
  if (!arn) throw new Error(`KMS DescribeKey returned no key ARN for ${keyOrAlias}`);
  return arn;
}

export interface ReplicationInput {
  readonly sourceDbInstanceId: string;
  readonly copyRegion: string;
  /** Key (or alias) ARN in the copy region; used only when the source is encrypted. */
  readonly copyKmsKeyId: string;
}

/**
 * Makes sure the source's automated backups replicate to the copy region with the source's
 * backup retention and the copy key. Idempotent: already replicating as configured changes
 * nothing; replicating otherwise (another retention, key or region) is reported as drift and left
 * as it is, because restarting it would discard the replicated restore window.
 */
export async function ensureReplication(
  deps: { readonly sourceRds: RdsApi; readonly copyRds: RdsApi; readonly copyKms: KmsApi },
  input: ReplicationInput,
): Promise<ReplicationOutcome> {
  let instance: Awaited<ReturnType<typeof describeSource>>;
  try {
    instance = await describeSource(deps.sourceRds, input.sourceDbInstanceId);
  } catch (error) {
    if ((error as Error).name === 'DBInstanceNotFoundFault') instance = undefined;
    else throw error;
  }
  if (!instance?.DBInstanceArn)
    return { status: 'unavailable', reason: `source instance ${input.sourceDbInstanceId} not found` };
  const retention = instance.BackupRetentionPeriod ?? 0;
  if (retention <= 0) {
    return {
      status: 'unavailable',
      reason: `source instance ${input.sourceDbInstanceId} has backup retention 0 (automated backups off): there is nothing to replicate`,
    };
  }
  const sourceArn = instance.DBInstanceArn;
  const expectedKey = instance.StorageEncrypted ? await keyArnOf(deps.copyKms, input.copyKmsKeyId) : null;
  const elsewhere = (instance.DBInstanceAutomatedBackupsReplications ?? [])
    .map((r) => r.DBInstanceAutomatedBackupsArn ?? '')
    .filter((arn) => arn !== '' && arn.split(':')[3] !== input.copyRegion);

  const existing = await replicatedBackup(deps.copyRds, sourceArn);
  if (existing && LIVE_STATUSES.has(existing.Status ?? '')) {
    const drift: ReplicationDrift[] = [];
    if (existing.BackupRetentionPeriod !== retention) {
      drift.push({
        field: 'backupRetentionPeriod',
        expected: `${retention} days (the source's)`,
        actual: `${existing.BackupRetentionPeriod ?? 'unset'} days`,
      });
    }
    if (expectedKey !== null && existing.KmsKeyId !== expectedKey) {
      drift.push({ field: 'kmsKeyId', expected: expectedKey, actual: existing.KmsKeyId ?? '(none)' });
    }
    const arn = existing.DBInstanceAutomatedBackupsArn ?? '';
    if (drift.length > 0) return { status: 'drift', arn, drift };
    return {
      status: 'in-sync',
      arn,
      retentionDays: retention,
      kmsKeyId: expectedKey,
      latestRestorableTime: existing.RestoreWindow?.LatestTime?.toISOString() ?? null,
    };
  }
  if (elsewhere.length > 0) {
    // RDS replicates an instance's backups to one other region at a time: ours would be refused.
    return {
      status: 'drift',
      arn: elsewhere[0] ?? null,
      drift: [
        {
          field: 'region',
          expected: input.copyRegion,
          actual: elsewhere.map((a) => a.split(':')[3]).join(', '),
        },
      ],
    };
  }
  await deps.copyRds.send(
    new StartDBInstanceAutomatedBackupsReplicationCommand({
      SourceDBInstanceArn: sourceArn,
      BackupRetentionPeriod: retention,
      ...(expectedKey ? { KmsKeyId: expectedKey } : {}),
      // The source is an ARN of another region: the SDK presigns the request for it.
    }),
  );
  return { status: 'started', retentionDays: retention, kmsKeyId: expectedKey };
}

async function describeSource(rds: RdsApi, id: string) {
  const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
  return out.DBInstances?.[0];
}
