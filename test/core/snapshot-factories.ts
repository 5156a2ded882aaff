import { MANAGED_TAG, SOURCE_TAG, TIER_TAG } from '../../functions/core/contracts.ts';
import type { SnapshotRecord } from '../../functions/core/retention.ts';

/** A snapshot recovery-drill made: manual, available, tagged managed. Override any field. */
export function managedSnapshot(
  id: string,
  createdAt: string,
  overrides: Partial<SnapshotRecord> = {},
): SnapshotRecord {
  return {
    id,
    createdAt,
    type: 'manual',
    status: 'available',
    tags: { [MANAGED_TAG]: 'true', [TIER_TAG]: 'daily', [SOURCE_TAG]: 'bt-cts-prod' },
    ...overrides,
  };
}

/** One managed snapshot a day at `hour` UTC, for `days` days from `firstDay` (YYYY-MM-DD). */
export function dailyHistory(firstDay: string, days: number, hour = 3): SnapshotRecord[] {
  const start = Date.parse(`${firstDay}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => {
    const at = new Date(start + i * 86_400_000 + hour * 3_600_000).toISOString();
    return managedSnapshot(`snap-${at.slice(0, 10)}-${String(hour).padStart(2, '0')}`, at);
  });
}

/** The policy of the runbook: 35 daily, 12 monthly, at most 20 deletions a run. */
export const runbookPolicy = () => ({ daily: 35, monthly: 12, maxDeletionsPerRun: 20 });

/** A policy without the deletion cap getting in the way. */
export const uncappedPolicy = (daily = 35, monthly = 12) => ({ daily, monthly, maxDeletionsPerRun: 1000 });
