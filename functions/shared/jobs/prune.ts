/**
 * Retention pruning (runbook "Backup Policy" 3: 35 daily + 12 monthly restore points) in the
 * source and the isolated region. The decision is the pure planner's; this job only lists, writes
 * the plan to the bucket for the audit trail before acting, and deletes what the plan says, at
 * most the cap, each deletion re-checked against the snapshot's tags.
 */
import type { DBSnapshot } from '@aws-sdk/client-rds';
import { InputError } from '../../core/errors.ts';
import { createEscalation } from '../../core/escalations.ts';
import { planRetention, type RetentionPlan, type RetentionPolicy } from '../../core/retention.ts';
import { escalateOrLog, type SnsApi } from '../aws/notify.ts';
import {
  deleteManagedSnapshot,
  isOurs,
  listManualSnapshots,
  type PageRetry,
  type RdsApi,
  type SnapshotListing,
  tagsToRecord,
  toSnapshotRecord,
} from '../aws/rds-snapshots.ts';
import { putJson, type S3Api } from '../aws/s3-objects.ts';
import type { PruneEnv } from '../env.ts';
import type { JobLogger, JobMetrics } from '../powertools.ts';

/** Everything the job touches, passed in so tests run it against moto (or a mocked RDS). */
export interface PruneDeps {
  readonly env: PruneEnv;
  readonly sourceRds: RdsApi;
  readonly copyRds: RdsApi;
  readonly s3: S3Api;
  readonly sns: SnsApi;
  readonly logger: JobLogger;
  readonly metrics: JobMetrics;
  readonly now?: () => Date;
  readonly pageRetry?: PageRetry;
}

/** One region's (or, same-region, one kind's) plan and what became of it. */
export interface PruneLocation {
  /** `source` or `copy` (the isolated copies). */
  readonly label: 'source' | 'copy';
  readonly region: string;
  readonly complete: boolean;
  /** Managed snapshots of this source found there. */
  readonly listed: number;
  readonly listingError: string | null;
  readonly plan: RetentionPlan;
  readonly deleted: string[];
  /** Already gone when the deletion came (deleted by someone else meanwhile). */
  readonly gone: string[];
  readonly failed: { id: string; error: string }[];
}

/** The audit record of a run, written to the backup bucket. */
export interface PruneReport {
  readonly startedAt: string;
  readonly environment: string;
  readonly source: string;
  readonly dryRun: boolean;
  /** Where the dry-run came from (`DRY_RUN` of the stack, or the event). */
  readonly dryRunFrom: 'config' | 'event' | null;
  readonly policy: RetentionPolicy;
  /** Why nothing was deleted, or null. */
  readonly blocked: string | null;
  readonly locations: PruneLocation[];
  /** Keys of the plan (written before deleting) and of the outcome in the backup bucket. */
  readonly planKey: string;
  readonly resultKey: string;
}

/** A deletion the plan called for did not happen; the run is reported as failed after the rest. */
export class PruneDeletionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PruneDeletionError';
  }
}

/** Marks ids of same-region copies (isolation by account only), which cannot keep the source's id. */
const COPY_SUFFIX = '-copy';

/** @throws InputError naming the field. */
export function parsePruneEvent(event: unknown): { dryRun: boolean } {
  if (event === undefined || event === null) return { dryRun: false };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new InputError('event', event, 'an object: {} or { "dryRun": true }');
  }
  const record = event as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'dryRun')
      throw new InputError(key, record[key], 'no such field (a prune event is {} or { "dryRun": true })');
  }
  if (record.dryRun !== undefined && typeof record.dryRun !== 'boolean') {
    throw new InputError('dryRun', record.dryRun, 'true or false');
  }
  return { dryRun: record.dryRun === true };
}

/**
 * Lists, plans, records and deletes. An incomplete listing anywhere deletes nothing anywhere and
 * escalates PRUNE_BLOCKED; so does any other failure, which is then rethrown.
 */
export async function runPrune(event: unknown, deps: PruneDeps): Promise<PruneReport> {
  const now = (deps.now ?? (() => new Date()))();
  const jobId = `prune/${deps.env.sourceDbInstanceId}/${now.toISOString()}`;
  try {
    const report = await pruneRun(parsePruneEvent(event), now, jobId, deps);
    if (report.blocked) {
      deps.metrics.addMetric('PruneBlocked', 'Count', 1);
      await escalateOrLog(
        deps,
        createEscalation('PRUNE_BLOCKED', jobId, report.blocked, {
          planKey: report.planKey,
          ...Object.fromEntries(report.locations.map((l) => [`${l.label}.listingError`, l.listingError])),
        }),
      );
    }
    const failed = report.locations.flatMap((l) => l.failed.map((f) => `${f.id} in ${l.region}: ${f.error}`));
    if (failed.length > 0) {
      throw new PruneDeletionError(`${failed.length} planned deletion(s) failed: ${failed.join('; ')}`);
    }
    deps.metrics.addMetric('JobFailed', 'Count', 0, { job: 'prune' });
    return report;
  } catch (error) {
    const e = error as Error;
    deps.metrics.addMetric('PruneFailed', 'Count', 1);
    deps.metrics.addMetric('JobFailed', 'Count', 1, { job: 'prune' });
    deps.logger.error('prune run failed', { jobId, error: `${e.name}: ${e.message}` });
    await escalateOrLog(
      deps,
      createEscalation('PRUNE_BLOCKED', jobId, `prune run failed: ${e.name}: ${e.message}`, {
        error: e.name,
      }),
    );
    throw error;
  }
}

interface Listed {
  readonly label: 'source' | 'copy';
  readonly region: string;
  readonly rds: RdsApi;
  readonly listing: SnapshotListing;
  readonly ours: DBSnapshot[];
}

async function listLocations(deps: PruneDeps): Promise<Listed[]> {
  const { env } = deps;
  const options = deps.pageRetry ? { retry: deps.pageRetry } : {};
  const ours = (listing: SnapshotListing) =>
    listing.snapshots.filter((s) => isOurs(tagsToRecord(s.TagList), env.sourceDbInstanceId));
  if (env.sourceRegion === env.copyRegion) {
    // Isolation by account only: one regional listing holds both, told apart by the copy's id.
    const listing = await listManualSnapshots(deps.sourceRds, env.sourceRegion, options);
    const all = ours(listing);
    const isCopy = (s: DBSnapshot) => (s.DBSnapshotIdentifier ?? '').endsWith(COPY_SUFFIX);
    return [
      {
        label: 'source',
        region: env.sourceRegion,
        rds: deps.sourceRds,
        listing,
        ours: all.filter((s) => !isCopy(s)),
      },
      { label: 'copy', region: env.copyRegion, rds: deps.copyRds, listing, ours: all.filter(isCopy) },
    ];
  }
  const [source, copy] = await Promise.all([
    listManualSnapshots(deps.sourceRds, env.sourceRegion, options),
    listManualSnapshots(deps.copyRds, env.copyRegion, options),
  ]);
  return [
    { label: 'source', region: env.sourceRegion, rds: deps.sourceRds, listing: source, ours: ours(source) },
    { label: 'copy', region: env.copyRegion, rds: deps.copyRds, listing: copy, ours: ours(copy) },
  ];
}

async function pruneRun(
  event: { dryRun: boolean },
  now: Date,
  jobId: string,
  deps: PruneDeps,
): Promise<PruneReport> {
  const { env, logger, metrics } = deps;
  const dryRun = env.dryRun || event.dryRun;
  const stamp = now.toISOString();
  const planKey = `prune/${stamp}.json`;
  const resultKey = `prune/${stamp}.result.json`;
  const policy: RetentionPolicy = {
    daily: env.retentionDaily,
    monthly: env.retentionMonthly,
    maxDeletionsPerRun: env.maxDeletionsPerRun,
  };
  const listed = await listLocations(deps);
  const complete = listed.every((l) => l.listing.complete);
  let remaining = policy.maxDeletionsPerRun;
  const planned = listed.map((l) => {
    const plan = planRetention(
      // One incomplete listing blocks every region: a failing region is no time to thin the other.
      { complete, snapshots: l.ours.map((s) => toSnapshotRecord(s, now)) },
      { ...policy, maxDeletionsPerRun: remaining },
      now,
    );
    remaining -= plan.delete.length;
    return { ...l, plan };
  });
  const incomplete = listed.filter((l) => !l.listing.complete);
  const blocked = complete
    ? null
    : `snapshot listing incomplete in ${incomplete.map((l) => `${l.region} (${l.listing.error})`).join(', ')}: nothing was deleted`;
  const locations: PruneLocation[] = planned.map((l) => ({
    label: l.label,
    region: l.region,
    complete: l.listing.complete,
    listed: l.ours.length,
    listingError: l.listing.error,
    plan: l.plan,
    deleted: [],
    gone: [],
    failed: [],
  }));
  const report: PruneReport = {
    startedAt: stamp,
    environment: env.environment,
    source: env.sourceDbInstanceId,
    dryRun,
    dryRunFrom: env.dryRun ? 'config' : event.dryRun ? 'event' : null,
    policy,
    blocked,
    locations,
    planKey,
    resultKey,
  };
  // The plan is on record before anything is deleted.
  await putJson(deps.s3, env.bucket, planKey, { ...report, phase: 'planned' });
  const toDelete = planned.reduce((n, l) => n + l.plan.delete.length, 0);
  metrics.addMetric('SnapshotsPlannedForDeletion', 'Count', toDelete);
  logger.info(dryRun ? 'prune plan (dry run: nothing is deleted)' : 'prune plan', {
    jobId,
    planKey,
    blocked,
    delete: planned.map((l) => ({ region: l.region, ids: l.plan.delete.map((d) => d.id) })),
  });
  if (dryRun || blocked) {
    metrics.addMetric('SnapshotsDeleted', 'Count', 0);
    return report;
  }
  let deleted = 0;
  for (const [index, l] of planned.entries()) {
    const location = locations[index] as PruneLocation;
    for (const { id, reason } of l.plan.delete) {
      try {
        const outcome = await deleteManagedSnapshot(l.rds, l.region, id, env.sourceDbInstanceId);
        if (outcome === 'deleted') {
          location.deleted.push(id);
          deleted++;
          logger.info('snapshot deleted', { region: l.region, snapshotId: id, reason });
        } else location.gone.push(id);
      } catch (error) {
        const e = error as Error;
        location.failed.push({ id, error: `${e.name}: ${e.message}` });
        logger.error('snapshot deletion failed', {
          region: l.region,
          snapshotId: id,
          error: `${e.name}: ${e.message}`,
        });
      }
    }
  }
  metrics.addMetric('SnapshotsDeleted', 'Count', deleted);
  await putJson(deps.s3, env.bucket, resultKey, { ...report, phase: 'done' });
  return report;
}
