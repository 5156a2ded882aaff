/**
 * The snapshot job's watch on the manual-snapshot quota: a warning well before RDS starts refusing
 * the daily snapshots and their copies.
 */
import { createEscalation } from '../../core/escalations.ts';
import { escalateOrLog } from '../aws/notify.ts';
import { manualSnapshotQuota } from '../aws/rds-snapshots.ts';
import type { SnapshotDeps } from './snapshot.ts';

/** Warn from this share of the manual-snapshot quota on: days of notice before snapshots start failing. */
export const QUOTA_WARNING_RATIO = 0.9;

/**
 * Counts the manual snapshots per region against RDS's quota (metrics), and escalates a warning
 * from {@link QUOTA_WARNING_RATIO} of it on, while there is still time to act.
 */
export async function checkQuota(
  counts: { region: string; count: number }[],
  date: string,
  deps: SnapshotDeps,
): Promise<void> {
  for (const { region, count } of counts) {
    const rds = region === deps.env.sourceRegion ? deps.sourceRds : deps.copyRds;
    const quota = await manualSnapshotQuota(rds);
    deps.metrics.addMetric(
      region === deps.env.sourceRegion ? 'ManualSnapshotsSourceRegion' : 'ManualSnapshotsCopyRegion',
      'Count',
      count,
    );
    if (count < Math.floor(quota.max * QUOTA_WARNING_RATIO)) continue;
    const message =
      `${count} of the ${quota.max} manual DB snapshots RDS allows in ${region} are used: new snapshots and copies ` +
      'fail once the quota is reached. Check the retention settings and that pruning runs, delete snapshots nobody ' +
      'needs, or raise the quota in Service Quotas';
    deps.logger.warn('manual snapshot quota nearly reached', {
      region,
      count,
      quota: quota.max,
      quotaFrom: quota.source,
    });
    deps.metrics.addMetric('ManualSnapshotQuotaWarning', 'Count', 1);
    // A warning-severity BACKUP_FAILED: nothing failed yet, but the next backups will unless someone acts.
    const escalation = {
      ...createEscalation('BACKUP_FAILED', `snapshot/${deps.env.sourceDbInstanceId}/${date}`, message, {
        region,
        manualSnapshots: count,
        quota: quota.max,
      }),
      severity: 'warning' as const,
    };
    await escalateOrLog(deps, escalation);
  }
}
