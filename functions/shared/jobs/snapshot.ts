/**
 * The daily full snapshot (runbook "Backup Policy" 1 and 4): one deterministic snapshot per source
 * and UTC day, copied to the isolated region with its KMS key, shared with the isolated account and
 * exported to S3 when configured. Every step is idempotent, so the schedule, the RDS "snapshot
 * created" event and an engineer re-running it by hand can all call it safely.
 */
import type { DBSnapshot } from '@aws-sdk/client-rds';
import {
  ARTIFACTS_TAG,
  MANAGED_TAG,
  MANAGED_TAG_VALUE,
  SOURCE_TAG,
  TAG_PREFIX,
  TIER_TAG,
} from '../../core/contracts.ts';
import { InputError } from '../../core/errors.ts';
import { createEscalation } from '../../core/escalations.ts';
import {
  copyIdFor,
  dayOfSnapshotId,
  exportTaskIdFor,
  needsFollowUp,
  parseSnapshotEvent,
  type SnapshotTier,
  type SnapshotTrigger,
  snapshotIdFor,
  tierFor,
  tierOfTag,
  utcDay,
} from '../../core/snapshot-naming.ts';
import type { KmsApi, ReplicationOutcome } from '../aws/automated-backups.ts';
import { escalateOrLog, type SnsApi } from '../aws/notify.ts';
import {
  ensureCopy,
  ensureExport,
  ensureSnapshot,
  isOurs,
  listManualSnapshots,
  type PageRetry,
  type RdsApi,
  type SnapshotListing,
  shareSnapshot,
  tagsToRecord,
} from '../aws/rds-snapshots.ts';
import type { SnapshotEnv } from '../env.ts';
import type { JobLogger, JobMetrics } from '../powertools.ts';
import {
  isCustomResourceEvent,
  keepReplication,
  type ReplicationResourceResponse,
  replicationResource,
} from './pitr-replication.ts';
import { checkQuota } from './snapshot-quota.ts';

/** Everything the job touches, passed in so tests run it against moto. */
export interface SnapshotDeps {
  readonly env: SnapshotEnv;
  /** RDS client in the source region. */
  readonly sourceRds: RdsApi;
  /** RDS client in the copy region. */
  readonly copyRds: RdsApi;
  /**
   * KMS client in the copy region: resolves the copy key's alias for the replicated backups.
   * Needed when `env.pitrReplication` is on.
   */
  readonly copyKms?: KmsApi;
  readonly sns: SnsApi;
  readonly logger: JobLogger;
  readonly metrics: JobMetrics;
  readonly now?: () => Date;
  readonly pageRetry?: PageRetry;
}

/** What EventBridge delivers for an RDS snapshot event (only the fields used). */
export interface RdsSnapshotEvent {
  readonly source: 'aws.rds';
  readonly 'detail-type': string;
  readonly detail: {
    readonly SourceIdentifier?: string;
    readonly SourceArn?: string;
    readonly EventID?: string;
  };
}

/** What may invoke the function: the schedule, a person, or EventBridge. */
export type SnapshotEvent = { readonly date?: string } | RdsSnapshotEvent;

/** What a run did, as returned by the function (visible in a manual invoke). */
export interface SnapshotResult {
  /** The UTC day the run was for. */
  readonly date: string;
  /** What triggered the run. */
  readonly trigger: 'schedule' | 'rds-event';
  /** The day's snapshot (or the event's), null when an event was not about one of ours. */
  readonly snapshotId: string | null;
  readonly created: boolean;
  readonly tier: SnapshotTier | null;
  readonly copies: { id: string; region: string; created: boolean }[];
  readonly sharedWith: string | null;
  /** Copies newly shared with `sharedWith` by this run. */
  readonly shared: string[];
  readonly exports: { taskId: string; started: boolean }[];
  readonly manualSnapshots: { region: string; count: number }[];
  /** Why the run did nothing, or null. */
  readonly skipped: string | null;
  /**
   * What the scheduled run found of the point-in-time replication to the copy region (and did:
   * `started`); null when replication is off or the run was not scheduled.
   */
  readonly replication: ReplicationOutcome | null;
}

/**
 * Takes (or finds) the day's snapshot and brings its isolated copy, share and export up to date.
 * Any failure publishes a BACKUP_FAILED escalation and is then rethrown, so the function's
 * failure destination sees it too.
 */
export async function runSnapshot(event: unknown, deps: SnapshotDeps): Promise<SnapshotResult>;
export async function runSnapshot(
  event: unknown,
  deps: SnapshotDeps,
): Promise<SnapshotResult | ReplicationResourceResponse>;
export async function runSnapshot(
  event: unknown,
  deps: SnapshotDeps,
): Promise<SnapshotResult | ReplicationResourceResponse> {
  if (isCustomResourceEvent(event)) return replicationResource(event, deps);
  const now = (deps.now ?? (() => new Date()))();
  const { env } = deps;
  let jobId = `snapshot/${env.sourceDbInstanceId}/${utcDay(now)}`;
  try {
    const parsed = parseSnapshotEvent(event);
    if (parsed.trigger === 'schedule' && parsed.date)
      jobId = `snapshot/${env.sourceDbInstanceId}/${parsed.date}`;
    const result = await snapshotRun(parsed, now, deps);
    deps.metrics.addMetric('SnapshotRunSucceeded', 'Count', 1);
    deps.metrics.addMetric('JobFailed', 'Count', 0, { job: 'snapshot' });
    return result;
  } catch (error) {
    deps.metrics.addMetric('BackupFailed', 'Count', 1);
    deps.metrics.addMetric('JobFailed', 'Count', 1, { job: 'snapshot' });
    const e = error as Error;
    deps.logger.error('snapshot run failed', { jobId, error: `${e.name}: ${e.message}` });
    await escalateOrLog(
      deps,
      createEscalation('BACKUP_FAILED', jobId, `snapshot run failed: ${e.name}: ${e.message}`, {
        source: env.sourceDbInstanceId,
        sourceRegion: env.sourceRegion,
        copyRegion: env.copyRegion,
        error: e.name,
      }),
    );
    throw error;
  }
}

function requireComplete(listing: SnapshotListing, what: string): SnapshotListing {
  if (!listing.complete)
    throw new Error(`could not list the manual snapshots in ${listing.region} (${what}): ${listing.error}`);
  return listing;
}

async function snapshotRun(parsed: SnapshotTrigger, now: Date, deps: SnapshotDeps): Promise<SnapshotResult> {
  const { env, logger } = deps;
  const today = utcDay(now);
  const listingOptions = deps.pageRetry ? { retry: deps.pageRetry } : {};
  const source = requireComplete(
    await listManualSnapshots(deps.sourceRds, env.sourceRegion, listingOptions),
    'needed to tag the tier and check the quota',
  );
  const ours = source.snapshots.filter((s) => isOurs(tagsToRecord(s.TagList), env.sourceDbInstanceId));

  let date = today;
  let snapshotId: string | null;
  let created = false;
  let tier: SnapshotTier | null = null;
  let candidates: DBSnapshot[];

  if (parsed.trigger === 'rds-event') {
    const day = dayOfSnapshotId(parsed.snapshotId, env.sourceDbInstanceId);
    const snapshot = ours.find((s) => s.DBSnapshotIdentifier === parsed.snapshotId);
    if (day === null || !snapshot) {
      logger.info('RDS event is not about a recovery-drill snapshot of this source: nothing to do', {
        snapshotId: parsed.snapshotId,
      });
      return emptyResult(
        today,
        'rds-event',
        parsed.snapshotId,
        `${parsed.snapshotId} is not a managed daily snapshot of ${env.sourceDbInstanceId}`,
      );
    }
    date = day;
    snapshotId = parsed.snapshotId;
    tier = tierOfTag(tagsToRecord(snapshot.TagList)[TIER_TAG]);
    candidates = [snapshot];
  } else {
    date = parsed.date ?? today;
    if (date > today) throw new InputError('date', date, `a UTC day not after today (${today})`);
    snapshotId = snapshotIdFor(env.sourceDbInstanceId, date);
    const id = snapshotId;
    if (date === today) {
      tier = tierFor(
        id,
        date,
        ours.map((s) => ({
          id: s.DBSnapshotIdentifier ?? '',
          status: s.Status ?? 'unknown',
          createdAt: s.SnapshotCreateTime ?? null,
          tier: tagsToRecord(s.TagList)[TIER_TAG],
        })),
      );
      const ensured = await ensureSnapshot(deps.sourceRds, env.sourceRegion, {
        id,
        sourceDbInstanceId: env.sourceDbInstanceId,
        tags: {
          [MANAGED_TAG]: MANAGED_TAG_VALUE,
          [TIER_TAG]: tier ?? 'daily',
          [SOURCE_TAG]: env.sourceDbInstanceId,
          [ARTIFACTS_TAG]: env.artifactsVersion,
        },
      });
      created = ensured.created;
      deps.metrics.addMetric('SnapshotCreated', 'Count', created ? 1 : 0);
      logger.info(created ? 'snapshot requested' : 'snapshot of the day already exists: nothing created', {
        snapshotId: id,
        tier,
        status: ensured.snapshot.Status,
      });
      if (created) ours.push(ensured.snapshot);
      else {
        const index = ours.findIndex((s) => s.DBSnapshotIdentifier === id);
        if (index >= 0) ours[index] = ensured.snapshot;
      }
    } else if (!ours.some((s) => s.DBSnapshotIdentifier === id)) {
      throw new InputError(
        'date',
        date,
        `a day with a snapshot (${id} does not exist in ${env.sourceRegion})`,
      );
    }
    // Catch up: recent snapshots whose copy, share or export an earlier run could not do yet.
    const run = { date, explicit: parsed.date !== null };
    candidates = ours.filter((s) => {
      const day = dayOfSnapshotId(s.DBSnapshotIdentifier ?? '', env.sourceDbInstanceId);
      return day !== null && needsFollowUp(day, run, now);
    });
  }

  const result = await followUp(candidates, deps);
  const copyListing = await listManualSnapshots(deps.copyRds, env.copyRegion, listingOptions);
  const manualSnapshots = [
    { region: env.sourceRegion, count: source.snapshots.length + (created ? 1 : 0) },
    ...(env.copyRegion === env.sourceRegion || !copyListing.complete
      ? []
      : [{ region: env.copyRegion, count: copyListing.snapshots.length }]),
  ];
  if (env.copyRegion === env.sourceRegion) {
    const first = manualSnapshots[0];
    if (first) first.count += result.copies.filter((c) => c.created).length;
  }
  await checkQuota(manualSnapshots, date, deps);
  const replication = parsed.trigger === 'schedule' ? await keepReplication(deps, date) : null;
  return {
    date,
    trigger: parsed.trigger,
    snapshotId,
    created,
    tier,
    copies: result.copies,
    sharedWith: env.copyAccountId,
    shared: result.shared,
    exports: result.exports,
    manualSnapshots,
    skipped: null,
    replication,
  };
}

function emptyResult(
  date: string,
  trigger: 'schedule' | 'rds-event',
  id: string,
  why: string,
): SnapshotResult {
  return {
    date,
    trigger,
    snapshotId: null,
    created: false,
    tier: null,
    copies: [],
    sharedWith: null,
    shared: [],
    exports: [],
    manualSnapshots: [],
    skipped: `${why} (${id})`,
    replication: null,
  };
}

async function followUp(candidates: DBSnapshot[], deps: SnapshotDeps) {
  const { env, logger } = deps;
  const copies: SnapshotResult['copies'] = [];
  const shared: string[] = [];
  const exports: SnapshotResult['exports'] = [];
  const sorted = [...candidates].sort((a, b) =>
    (a.DBSnapshotIdentifier ?? '').localeCompare(b.DBSnapshotIdentifier ?? ''),
  );
  for (const snapshot of sorted) {
    const id = snapshot.DBSnapshotIdentifier ?? '';
    if (snapshot.Status !== 'available') {
      logger.info('snapshot not available yet: copy and export wait for its RDS event or the next run', {
        snapshotId: id,
        status: snapshot.Status,
      });
      continue;
    }
    const sourceArn = snapshot.DBSnapshotArn ?? '';
    const tags = Object.fromEntries(
      Object.entries(tagsToRecord(snapshot.TagList)).filter(([key]) => key.startsWith(TAG_PREFIX)),
    );
    const copyId = copyIdFor(id, env.sourceRegion, env.copyRegion);
    const copy = await ensureCopy(deps.copyRds, env.copyRegion, {
      sourceArn,
      targetId: copyId,
      sourceDbInstanceId: env.sourceDbInstanceId,
      kmsKeyId: env.copyKmsKeyId,
      tags,
    });
    copies.push({ id: copyId, region: env.copyRegion, created: copy.created });
    if (copy.created) {
      deps.metrics.addMetric('SnapshotCopyStarted', 'Count', 1);
      logger.info('isolated copy requested', { snapshotId: id, copyId, copyRegion: env.copyRegion });
    }
    if (env.copyAccountId) {
      if (copy.snapshot.Status === 'available') {
        if (await shareSnapshot(deps.copyRds, copyId, env.copyAccountId)) {
          shared.push(copyId);
          logger.info('copy shared with the isolated account', { copyId, account: env.copyAccountId });
        }
      } else {
        logger.info('copy not available yet: it is shared on the next run', {
          copyId,
          status: copy.snapshot.Status,
        });
      }
    }
    if (env.export) {
      const taskId = exportTaskIdFor(id);
      const started = await ensureExport(deps.sourceRds, {
        taskId,
        sourceArn,
        bucket: env.export.bucket,
        prefix: `exports/${env.sourceDbInstanceId}`,
        roleArn: env.export.roleArn,
        kmsKeyId: env.export.kmsKeyId,
      });
      exports.push({ taskId, started });
      if (started) {
        deps.metrics.addMetric('SnapshotExportStarted', 'Count', 1);
        logger.info('S3 export started (Parquet, for analysis: not restorable)', { snapshotId: id, taskId });
      }
    }
  }
  return { copies, shared, exports };
}
