/**
 * The copy account's half of "isolated": the source account shares its copies in the copy region
 * with this account, and this job copies each into a snapshot this account owns, encrypted with
 * this account's key. A compromised source account can then delete its own snapshots and copies,
 * but not these: RDS has no cross-account delete, and only this job's role may delete them here.
 *
 * Retention is the same planner as the source's (`core/retention.ts`), run over what this account
 * owns plus what it could copy: a shared snapshot is copied only when the plan would keep it, so
 * the first run after deploying adopts the retained daily and monthly points and nothing older.
 */
import type { DBSnapshot } from '@aws-sdk/client-rds';
import { MANAGED_TAG, MANAGED_TAG_VALUE, managedSnapshotPrefix, SOURCE_TAG } from '../../core/contracts.ts';
import { createEscalation } from '../../core/escalations.ts';
import { planRetention, type RetentionPlan, type SnapshotRecord } from '../../core/retention.ts';
import { escalateOrLog, type SnsApi } from '../aws/notify.ts';
import {
  deleteManagedSnapshot,
  ensureCopy,
  isOurs,
  listManualSnapshots,
  type PageRetry,
  type RdsApi,
  type SnapshotListing,
  tagsToRecord,
} from '../aws/rds-snapshots.ts';
import type { IsolatedCopiesEnv } from '../env.ts';
import type { JobLogger, JobMetrics } from '../powertools.ts';

/** RDS runs a bounded number of copies at once per region: a run starts at most this many. */
export const MAX_COPIES_PER_RUN = 5;

/** On each copy: where it came from (the shared snapshot's ARN), for the audit trail. */
export const COPIED_FROM_TAG = 'recovery-drill:copied-from';

/** Everything the job touches, passed in so tests run it against moto or a mocked RDS. */
export interface IsolatedCopiesDeps {
  readonly env: IsolatedCopiesEnv;
  /** RDS client of the copy account, in the copy region. */
  readonly rds: RdsApi;
  readonly sns: SnsApi;
  readonly logger: JobLogger;
  readonly metrics: JobMetrics;
  readonly now?: () => Date;
  readonly pageRetry?: PageRetry;
}

/** What a run did, as returned by the function (visible in a manual invoke). */
export interface IsolatedCopiesResult {
  /** Shared snapshots of the source account adopted as candidates. */
  readonly shared: string[];
  /** Copies this run requested (ids are the shared snapshot's, in this account). */
  readonly copied: string[];
  /** Shared snapshots the plan keeps that wait for a later run (the per-run cap). */
  readonly waiting: string[];
  readonly plan: RetentionPlan;
  readonly deleted: string[];
  readonly dryRun: boolean;
  /** Age of the newest available copy this account owns, or null when it owns none. */
  readonly newestCopyAgeMinutes: number | null;
}

/** The owner account and the snapshot id of a snapshot ARN. */
function ownerOf(arn: string): { account: string; region: string; id: string } {
  const [, , , region = '', account = '', , id = ''] = arn.split(':');
  return { account, region, id };
}

/** When the data of a snapshot was taken: a copy keeps its original's time. */
function takenAt(s: DBSnapshot, fallback: Date): Date {
  return s.OriginalSnapshotCreateTime ?? s.SnapshotCreateTime ?? fallback;
}

function requireComplete(listing: SnapshotListing, what: string): SnapshotListing {
  if (!listing.complete) throw new Error(`could not list ${what} in ${listing.region}: ${listing.error}`);
  return listing;
}

/**
 * Copies what the source account shares and keeps what the plan keeps. Any failure publishes a
 * BACKUP_FAILED escalation to this account's topic and is then rethrown.
 */
export async function runIsolatedCopies(
  _event: unknown,
  deps: IsolatedCopiesDeps,
): Promise<IsolatedCopiesResult> {
  const { env } = deps;
  try {
    const result = await copiesRun(deps);
    deps.metrics.addMetric('JobFailed', 'Count', 0, { job: 'isolated-copies' });
    return result;
  } catch (error) {
    const e = error as Error;
    deps.metrics.addMetric('JobFailed', 'Count', 1, { job: 'isolated-copies' });
    deps.logger.error('isolated copies run failed', { error: `${e.name}: ${e.message}` });
    await escalateOrLog(
      deps,
      createEscalation(
        'BACKUP_FAILED',
        `isolated-copies/${env.sourceDbInstanceId}`,
        `copying the shared snapshots into the isolation account failed: ${e.name}: ${e.message}`,
        {
          source: env.sourceDbInstanceId,
          sourceAccount: env.sourceAccountId,
          copyRegion: env.copyRegion,
          error: e.name,
        },
      ),
    );
    throw error;
  }
}

async function copiesRun(deps: IsolatedCopiesDeps): Promise<IsolatedCopiesResult> {
  const { env, logger, metrics } = deps;
  const now = (deps.now ?? (() => new Date()))();
  const options = deps.pageRetry ? { retry: deps.pageRetry } : {};
  const prefix = managedSnapshotPrefix(env.sourceDbInstanceId);

  const sharedListing = requireComplete(
    await listManualSnapshots(deps.rds, env.copyRegion, { ...options, snapshotType: 'shared' }),
    'the snapshots shared with this account',
  );
  // Only the source account's managed copies in this region: anything else shared is ignored.
  const shared = sharedListing.snapshots.filter((s) => {
    const owner = ownerOf(s.DBSnapshotArn ?? '');
    return (
      owner.account === env.sourceAccountId &&
      owner.region === env.copyRegion &&
      owner.id.startsWith(prefix) &&
      s.Status === 'available'
    );
  });
  const ownedListing = requireComplete(
    await listManualSnapshots(deps.rds, env.copyRegion, options),
    'the snapshots this account owns',
  );
  const owned = ownedListing.snapshots.filter((s) => isOurs(tagsToRecord(s.TagList), env.sourceDbInstanceId));
  const ownedIds = new Set(owned.map((s) => s.DBSnapshotIdentifier ?? ''));
  const candidates = shared.filter((s) => !ownedIds.has(ownerOf(s.DBSnapshotArn ?? '').id));

  // The plan over what is owned and what could be: copied only if it would be kept.
  const record = (s: DBSnapshot, id: string, status: string): SnapshotRecord => ({
    id,
    createdAt: takenAt(s, now).toISOString(),
    type: 'manual',
    status,
    tags: { [MANAGED_TAG]: MANAGED_TAG_VALUE, [SOURCE_TAG]: env.sourceDbInstanceId },
  });
  const policy = {
    daily: env.retentionDaily,
    monthly: env.retentionMonthly,
    maxDeletionsPerRun: env.maxDeletionsPerRun,
  };
  const ownedRecords = owned.map((s) => record(s, s.DBSnapshotIdentifier ?? '', s.Status ?? 'unknown'));
  const candidateRecords = candidates.map((s) => record(s, ownerOf(s.DBSnapshotArn ?? '').id, 'available'));
  // Which candidates the policy keeps: without the deletion cap, which limits deleting, not adopting.
  const all = [...ownedRecords, ...candidateRecords];
  const adoption = planRetention(
    { complete: true, snapshots: all },
    { ...policy, maxDeletionsPerRun: all.length },
    now,
  );
  const kept = new Set(adoption.keep.map((k) => k.id));
  // What this account deletes: the plan over what it owns and what it adopts, with the cap.
  const plan = planRetention(
    { complete: true, snapshots: [...ownedRecords, ...candidateRecords.filter((r) => kept.has(r.id))] },
    policy,
    now,
  );
  const toCopy = candidates
    .filter((s) => kept.has(ownerOf(s.DBSnapshotArn ?? '').id))
    .sort((a, b) => takenAt(b, now).getTime() - takenAt(a, now).getTime());

  const copied: string[] = [];
  const waiting: string[] = [];
  for (const s of toCopy) {
    const id = ownerOf(s.DBSnapshotArn ?? '').id;
    if (copied.length >= MAX_COPIES_PER_RUN || env.dryRun) {
      waiting.push(id);
      continue;
    }
    const copy = await ensureCopy(deps.rds, env.copyRegion, {
      sourceArn: s.DBSnapshotArn ?? '',
      targetId: id,
      sourceDbInstanceId: env.sourceDbInstanceId,
      kmsKeyId: env.kmsKeyArn,
      tags: {
        [MANAGED_TAG]: MANAGED_TAG_VALUE,
        [SOURCE_TAG]: env.sourceDbInstanceId,
        [COPIED_FROM_TAG]: s.DBSnapshotArn ?? '',
      },
    });
    if (copy.created) {
      copied.push(id);
      logger.info('shared snapshot copied into the isolation account', { id, from: s.DBSnapshotArn });
    }
  }
  metrics.addMetric('IsolatedCopiesStarted', 'Count', copied.length);

  // Only owned copies are ever deleted; a candidate the plan drops was simply never copied.
  const deleted: string[] = [];
  for (const d of plan.delete) {
    if (!ownedIds.has(d.id)) continue;
    if (env.dryRun) continue;
    const outcome = await deleteManagedSnapshot(deps.rds, env.copyRegion, d.id, env.sourceDbInstanceId);
    if (outcome === 'deleted') deleted.push(d.id);
    logger.info('isolated copy deleted by retention', { id: d.id, reason: d.reason, outcome });
  }
  metrics.addMetric('IsolatedCopiesDeleted', 'Count', deleted.length);

  const newest = owned
    .filter((s) => s.Status === 'available')
    .reduce<Date | null>((best, s) => {
      const t = takenAt(s, now);
      return best === null || t > best ? t : best;
    }, null);
  const newestCopyAgeMinutes =
    newest === null ? null : Math.round(((now.getTime() - newest.getTime()) / 60_000) * 100) / 100;
  if (newestCopyAgeMinutes !== null)
    metrics.addMetric('NewestSnapshotAgeMinutes', 'None', newestCopyAgeMinutes, {
      location: 'isolation-account',
      region: env.copyRegion,
    });

  return {
    shared: shared.map((s) => ownerOf(s.DBSnapshotArn ?? '').id).sort(),
    copied,
    waiting,
    plan,
    deleted,
    dryRun: env.dryRun,
    newestCopyAgeMinutes,
  };
}
