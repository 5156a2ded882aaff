/**
 * RDS manual snapshots as the backup functions need them: complete listings (or an honest
 * "incomplete"), idempotent create/copy/export keyed by deterministic ids, and a delete that
 * refuses anything recovery-drill did not create, whatever IAM would allow.
 */
import {
  CopyDBSnapshotCommand,
  CreateDBSnapshotCommand,
  type DBSnapshot,
  DeleteDBSnapshotCommand,
  DescribeAccountAttributesCommand,
  DescribeDBSnapshotAttributesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBSnapshotAttributeCommand,
  type RDSClient,
  StartExportTaskCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { MANAGED_TAG, MANAGED_TAG_VALUE, SOURCE_TAG } from '../../core/contracts.ts';
import type { SnapshotRecord } from '../../core/retention.ts';

/** The only part of an RDS client these helpers use, so tests can pass a mocked or a moto client. */
export type RdsApi = Pick<RDSClient, 'send'>;

/** A snapshot id is taken by a snapshot that recovery-drill did not make (or made for another source). */
export class ForeignSnapshotError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ForeignSnapshotError';
  }
}

/** Deletion refused in code: the snapshot lacks `recovery-drill:managed=true` or belongs to another source. */
export class UnmanagedSnapshotError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnmanagedSnapshotError';
  }
}

/** RDS tag lists as a record, the shape the core's retention planner decides on. */
export function tagsToRecord(tags: readonly Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) out[tag.Key] = tag.Value ?? '';
  return out;
}

/** Tags for create/copy requests: tagging on create is what IAM allows (`aws:RequestTag`). */
export function recordToTags(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** True when recovery-drill made this snapshot of this source: the only ones it may ever delete. */
export function isOurs(tags: Readonly<Record<string, string>>, sourceDbInstanceId: string): boolean {
  return tags[MANAGED_TAG] === MANAGED_TAG_VALUE && tags[SOURCE_TAG] === sourceDbInstanceId;
}

/** Reduces an RDS snapshot to what retention decides on. */
export function toSnapshotRecord(snapshot: DBSnapshot, listedAt: Date): SnapshotRecord {
  const created = snapshot.SnapshotCreateTime ?? snapshot.OriginalSnapshotCreateTime ?? listedAt;
  return {
    id: snapshot.DBSnapshotIdentifier ?? '',
    createdAt: created.toISOString(),
    type: snapshot.SnapshotType === 'manual' ? 'manual' : 'automated',
    status: snapshot.Status ?? 'unknown',
    tags: tagsToRecord(snapshot.TagList),
  };
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottledException',
  'TooManyRequestsException',
]);

/** Throttling is worth waiting out; any other listing error makes the listing incomplete. */
export function isThrottling(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: { throttling?: boolean } } | null;
  return Boolean(e && (THROTTLING.has(e.name ?? '') || e.$retryable?.throttling));
}

/** How long a listing waits out throttling on one page before calling itself incomplete. */
export interface PageRetry {
  /** Tries per page, the first included (the SDK's own retries happen inside each try). */
  readonly attempts: number;
  /** First back-off; doubled per try. */
  readonly baseDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** 2 + 4 + 8 s of back-off per page: well inside the prune function's 5-minute timeout. */
export const DEFAULT_PAGE_RETRY: PageRetry = {
  attempts: 4,
  baseDelayMs: 2_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** One region's manual snapshots, and whether that is all of them. */
export interface SnapshotListing {
  readonly region: string;
  /** False when a page failed: the snapshots are a partial view and must not drive deletions. */
  readonly complete: boolean;
  /** Every manual snapshot listed (of any origin: the regional quota counts them all). */
  readonly snapshots: DBSnapshot[];
  readonly pages: number;
  /** Why the listing is incomplete, or null. */
  readonly error: string | null;
}

/**
 * Lists every manual snapshot in the client's region, following `Marker` to the last page. A page
 * that is throttled is retried from the same marker (a listing of hundreds of snapshots should not
 * start over); any other error ends the listing with `complete: false` rather than throwing, so the
 * caller decides what a partial view may be used for.
 */
export async function listManualSnapshots(
  rds: RdsApi,
  region: string,
  {
    pageSize = 100,
    retry = DEFAULT_PAGE_RETRY,
    snapshotType = 'manual',
  }: {
    pageSize?: number;
    retry?: PageRetry;
    /** `shared`: the manual snapshots other accounts share with this one (the copy account's view). */
    snapshotType?: 'manual' | 'shared';
  } = {},
): Promise<SnapshotListing> {
  const snapshots: DBSnapshot[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        const page = await rds.send(
          new DescribeDBSnapshotsCommand({
            SnapshotType: snapshotType,
            ...(snapshotType === 'shared' ? { IncludeShared: true } : {}),
            MaxRecords: pageSize,
            Marker: marker,
          }),
        );
        pages++;
        snapshots.push(...(page.DBSnapshots ?? []));
        const next = page.Marker || undefined;
        if (next !== undefined && next === marker) {
          return incomplete(
            region,
            snapshots,
            pages,
            `RDS returned the same Marker twice (${next}) on page ${pages}`,
          );
        }
        marker = next;
        break;
      } catch (error) {
        if (isThrottling(error) && attempt < retry.attempts) {
          await retry.sleep(retry.baseDelayMs * 2 ** (attempt - 1));
          continue;
        }
        const e = error as Error;
        return incomplete(
          region,
          snapshots,
          pages,
          `DescribeDBSnapshots failed on page ${pages + 1} after ${attempt} tr${attempt === 1 ? 'y' : 'ies'}: ${e.name}: ${e.message}`,
        );
      }
    }
  } while (marker !== undefined);
  return { region, complete: true, snapshots, pages, error: null };
}

function incomplete(region: string, snapshots: DBSnapshot[], pages: number, error: string): SnapshotListing {
  return { region, complete: false, snapshots, pages, error };
}

/** The snapshot with this id in the client's region, or undefined. */
export async function describeSnapshot(rds: RdsApi, id: string): Promise<DBSnapshot | undefined> {
  try {
    const out = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }));
    return out.DBSnapshots?.[0];
  } catch (error) {
    if ((error as Error).name === 'DBSnapshotNotFoundFault') return undefined;
    throw error;
  }
}

function checkOurs(
  snapshot: DBSnapshot | undefined,
  id: string,
  sourceDbInstanceId: string,
  region: string,
): DBSnapshot {
  if (!snapshot) throw new ForeignSnapshotError(`snapshot ${id} in ${region} exists but cannot be described`);
  const tags = tagsToRecord(snapshot.TagList);
  if (!isOurs(tags, sourceDbInstanceId)) {
    throw new ForeignSnapshotError(
      `snapshot ${id} in ${region} already exists but is not a recovery-drill snapshot of ${sourceDbInstanceId} ` +
        `(tags ${MANAGED_TAG}=${tags[MANAGED_TAG] ?? '(none)'}, ${SOURCE_TAG}=${tags[SOURCE_TAG] ?? '(none)'}): ` +
        'rename or delete it by hand; recovery-drill will not adopt it as a backup',
    );
  }
  return snapshot;
}

/** The outcome of an idempotent create or copy. */
export interface Ensured {
  /** False when the snapshot already existed (a re-run): nothing was changed. */
  readonly created: boolean;
  readonly snapshot: DBSnapshot;
}

/** Creates the day's snapshot, tagged on create; an existing one of ours is a no-op. */
export async function ensureSnapshot(
  rds: RdsApi,
  region: string,
  input: { id: string; sourceDbInstanceId: string; tags: Readonly<Record<string, string>> },
): Promise<Ensured> {
  const existing = await describeSnapshot(rds, input.id);
  if (existing)
    return { created: false, snapshot: checkOurs(existing, input.id, input.sourceDbInstanceId, region) };
  try {
    const out = await rds.send(
      new CreateDBSnapshotCommand({
        DBInstanceIdentifier: input.sourceDbInstanceId,
        DBSnapshotIdentifier: input.id,
        Tags: recordToTags(input.tags),
      }),
    );
    return { created: true, snapshot: out.DBSnapshot ?? {} };
  } catch (error) {
    // Another invocation (the RDS event and the schedule) won the race: same as existing.
    if ((error as Error).name !== 'DBSnapshotAlreadyExistsFault') throw error;
    const raced = await describeSnapshot(rds, input.id);
    return { created: false, snapshot: checkOurs(raced, input.id, input.sourceDbInstanceId, region) };
  }
}

/**
 * Copies a snapshot into the target client's region (or account-local, same region), encrypted
 * with the given KMS key and tagged on create; an existing copy of ours is a no-op.
 */
export async function ensureCopy(
  target: RdsApi,
  targetRegion: string,
  input: {
    /** ARN of the source snapshot (an ARN, not an id: cross-region copies need it). */
    sourceArn: string;
    targetId: string;
    sourceDbInstanceId: string;
    kmsKeyId: string;
    tags: Readonly<Record<string, string>>;
  },
): Promise<Ensured> {
  const existing = await describeSnapshot(target, input.targetId);
  if (existing) {
    return {
      created: false,
      snapshot: checkOurs(existing, input.targetId, input.sourceDbInstanceId, targetRegion),
    };
  }
  try {
    const out = await target.send(
      new CopyDBSnapshotCommand({
        SourceDBSnapshotIdentifier: input.sourceArn,
        TargetDBSnapshotIdentifier: input.targetId,
        KmsKeyId: input.kmsKeyId,
        Tags: recordToTags(input.tags),
        // The source is an ARN: the SDK sees its region differs and presigns the cross-region request.
      }),
    );
    return { created: true, snapshot: out.DBSnapshot ?? {} };
  } catch (error) {
    if ((error as Error).name !== 'DBSnapshotAlreadyExistsFault') throw error;
    const raced = await describeSnapshot(target, input.targetId);
    return {
      created: false,
      snapshot: checkOurs(raced, input.targetId, input.sourceDbInstanceId, targetRegion),
    };
  }
}

/**
 * Lets another account restore (or copy) the snapshot, unless it already may.
 * @returns false when the account was already allowed: nothing was changed.
 */
export async function shareSnapshot(rds: RdsApi, id: string, accountId: string): Promise<boolean> {
  try {
    const out = await rds.send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: id }));
    const restore = out.DBSnapshotAttributesResult?.DBSnapshotAttributes?.find(
      (a) => a.AttributeName === 'restore',
    );
    if (restore?.AttributeValues?.includes(accountId)) return false;
  } catch {
    // Cannot read the attribute (e.g. no permission): share anyway, RDS ignores an account added twice.
  }
  await rds.send(
    new ModifyDBSnapshotAttributeCommand({
      DBSnapshotIdentifier: id,
      AttributeName: 'restore',
      ValuesToAdd: [accountId],
    }),
  );
  return true;
}

/**
 * Starts an S3 export (Parquet) of a snapshot under a deterministic task id.
 * @returns false when the task already exists (a re-run): nothing was started.
 */
export async function ensureExport(
  rds: RdsApi,
  input: {
    taskId: string;
    sourceArn: string;
    bucket: string;
    prefix: string;
    roleArn: string;
    kmsKeyId: string;
  },
): Promise<boolean> {
  try {
    await rds.send(
      new StartExportTaskCommand({
        ExportTaskIdentifier: input.taskId,
        SourceArn: input.sourceArn,
        S3BucketName: input.bucket,
        S3Prefix: input.prefix,
        IamRoleArn: input.roleArn,
        KmsKeyId: input.kmsKeyId,
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ExportTaskAlreadyExistsFault') return false;
    throw error;
  }
}

/**
 * Deletes a snapshot only after re-reading its tags: IAM allows deletes on the managed tag, and this
 * check refuses them too (and refuses another source's snapshots, which IAM cannot tell apart).
 * @returns `gone` when the snapshot no longer exists.
 * @throws UnmanagedSnapshotError when the snapshot is not ours; nothing is deleted.
 */
export async function deleteManagedSnapshot(
  rds: RdsApi,
  region: string,
  id: string,
  sourceDbInstanceId: string,
): Promise<'deleted' | 'gone'> {
  const snapshot = await describeSnapshot(rds, id);
  if (!snapshot) return 'gone';
  const tags = tagsToRecord(snapshot.TagList);
  if (snapshot.SnapshotType !== 'manual' || !isOurs(tags, sourceDbInstanceId)) {
    throw new UnmanagedSnapshotError(
      `refusing to delete snapshot ${id} in ${region}: it is not a managed recovery-drill snapshot of ` +
        `${sourceDbInstanceId} (type ${snapshot.SnapshotType ?? 'unknown'}, ${MANAGED_TAG}=${tags[MANAGED_TAG] ?? '(none)'}, ` +
        `${SOURCE_TAG}=${tags[SOURCE_TAG] ?? '(none)'})`,
    );
  }
  try {
    await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id }));
    return 'deleted';
  } catch (error) {
    if ((error as Error).name === 'DBSnapshotNotFoundFault') return 'gone';
    throw error;
  }
}

/** RDS's default quota of manual DB snapshots per region, used when the account's own cannot be read. */
export const DEFAULT_MANUAL_SNAPSHOT_QUOTA = 100;

/**
 * The account's manual-snapshot quota in the client's region (it may have been raised above 100).
 * Falls back to the default when it cannot be read: a warning a little early beats none.
 */
export async function manualSnapshotQuota(
  rds: RdsApi,
): Promise<{ max: number; source: 'account' | 'default' }> {
  try {
    const out = await rds.send(new DescribeAccountAttributesCommand({}));
    const quota = out.AccountQuotas?.find((q) => q.AccountQuotaName === 'ManualSnapshots');
    if (quota?.Max !== undefined && quota.Max > 0) return { max: quota.Max, source: 'account' };
  } catch {
    // fall through to the default
  }
  return { max: DEFAULT_MANUAL_SNAPSHOT_QUOTA, source: 'default' };
}
