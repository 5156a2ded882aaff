/**
 * Names that the stack (`lib/`) and the functions agree on: the tags and the snapshot id prefix
 * that IAM conditions grant on, and the metric namespace the alarms read. Written once here and
 * imported by both sides, so that renaming one can never leave a policy granting on a name the
 * code no longer uses (or a dashboard reading a namespace nothing publishes to). Pure constants.
 */

/** Tag every snapshot recovery-drill creates or copies carries: the only snapshots it may delete or share. */
export const MANAGED_TAG = 'recovery-drill:managed';
/** The value of {@link MANAGED_TAG} on a managed snapshot (IAM compares it as a string). */
export const MANAGED_TAG_VALUE = 'true';
/** `daily` or `monthly`: what the snapshot was taken as (informational; retention decides by date). */
export const TIER_TAG = 'recovery-drill:tier';
/** Identifier of the database the snapshot was taken of, so copies in another region stay traceable. */
export const SOURCE_TAG = 'recovery-drill:source';
/** The version of the app artifacts captured with the snapshot. */
export const ARTIFACTS_TAG = 'recovery-drill:artifacts';
/** Every tag of this project starts with this: copies carry the source snapshot's over. */
export const TAG_PREFIX = 'recovery-drill:';

/** Managed snapshot ids start with this, then the source id (`rd-<source>-<YYYY-MM-DD>`). */
export const SNAPSHOT_ID_PREFIX = 'rd-';

/**
 * `rd-<source>-`: the prefix of every managed snapshot of one source. The snapshot and prune
 * roles may touch only `snapshot:<this>*`, and the RDS event rule matches it.
 */
export function managedSnapshotPrefix(sourceDbInstanceId: string): string {
  return `${SNAPSHOT_ID_PREFIX}${sourceDbInstanceId}-`;
}

/** CloudWatch namespace of every metric the functions publish; the dashboard and alarms read it. */
export const METRICS_NAMESPACE = 'RecoveryDrill';
/** Powertools' `service` (logs and the metrics' `service` dimension), the same for every function. */
export const SERVICE_NAME = 'recovery-drill';
