/**
 * Cleanup after a drill execution that ended without reaching (or finishing) its own cleanup:
 * timed out, stopped by hand, or failed. EventBridge sends the execution's status change; this
 * runs the drill's own cleanup step (the same tag-guarded code the state machine's "Clean up"
 * state runs: it stops only tasks started by that drill id, blanks the drill secret, deletes only
 * an instance carrying the drill-id tag) and tells on-call what it removed, or escalates
 * CLEANUP_FAILED with what is left. When nothing was left (the drill had cleaned up before it
 * failed) it only logs.
 */
import { createEscalation, type Escalation } from '../../../core/escalations.ts';
import type { Resolution } from '../../../core/messages.ts';
import { publishEscalation, publishResolution, type SnsApi } from '../../../shared/aws/notify.ts';
import type { JobLogger, JobMetrics } from '../../../shared/powertools.ts';
import { drillInstanceId } from '../../drill-id.ts';
import type { DrillDeps } from '../../ports/drill-deps.ts';
import { type DrillState, runStep } from '../../steps/index.ts';

/** The execution statuses after which the drill's resources may still exist. */
export const ABORTED_STATUSES = ['TIMED_OUT', 'ABORTED', 'FAILED'] as const;
export type AbortedStatus = (typeof ABORTED_STATUSES)[number];

/** The part of EventBridge's "Step Functions Execution Status Change" event that is read. */
export interface ExecutionEndedEvent {
  readonly 'detail-type'?: string;
  readonly detail?: {
    readonly executionArn?: unknown;
    readonly stateMachineArn?: unknown;
    readonly name?: unknown;
    readonly status?: unknown;
  };
}

export interface AbortCleanupDeps {
  readonly drill: DrillDeps;
  readonly sns: SnsApi;
  readonly topicArn: string;
  /** The only state machine whose executions are cleaned up (the rule's pattern says so too). */
  readonly stateMachineArn: string;
  readonly logger: JobLogger;
  /**
   * `JobFailed` with `job` = {@link ABORT_CLEANUP_JOB}: 1 when the cleanup escalated CLEANUP_FAILED,
   * 0 when it ran (the stack's alarm on it pages even if the escalation's delivery failed).
   */
  readonly metrics: JobMetrics;
}

/** The `job` dimension of the abort cleanup's `JobFailed` metric (lib/monitoring.ts alarms on it). */
export const ABORT_CLEANUP_JOB = 'abortCleanup';

/** What the handler did, also its return value (no credentials: ids and resource names only). */
export interface AbortCleanupResult {
  readonly drillId: string;
  readonly status: AbortedStatus;
  readonly removed: string[];
  /** `resolution`: what was removed was announced; `escalation`: CLEANUP_FAILED; `none`: nothing was left. */
  readonly published: 'resolution' | 'escalation' | 'none';
  readonly problem: string | null;
}

/** A bad event: names the field and the value; nothing is touched. */
export class AbortCleanupEventError extends Error {
  override name = 'AbortCleanupEventError';
}

function field(event: ExecutionEndedEvent, name: 'executionArn' | 'stateMachineArn' | 'name' | 'status') {
  const value = event?.detail?.[name];
  if (typeof value !== 'string' || value === '') {
    throw new AbortCleanupEventError(
      `detail.${name} must be a non-empty string, got ${JSON.stringify(value ?? null)}`,
    );
  }
  return value;
}

/** Runs the drill's cleanup step for the ended execution and publishes the outcome. */
export async function cleanUpAfterExecution(
  event: ExecutionEndedEvent,
  deps: AbortCleanupDeps,
): Promise<AbortCleanupResult> {
  const status = field(event, 'status');
  if (!(ABORTED_STATUSES as readonly string[]).includes(status)) {
    throw new AbortCleanupEventError(
      `detail.status must be one of ${ABORTED_STATUSES.join(', ')}, got ${JSON.stringify(status)}`,
    );
  }
  const stateMachineArn = field(event, 'stateMachineArn');
  if (stateMachineArn !== deps.stateMachineArn) {
    throw new AbortCleanupEventError(
      `detail.stateMachineArn must be the drill state machine ${deps.stateMachineArn}, got ${JSON.stringify(stateMachineArn)}`,
    );
  }
  const executionArn = field(event, 'executionArn');
  // The execution name is the drill id (the start function names it so).
  const drillId = field(event, 'name');
  const { config } = deps.drill.settings;
  const instanceId = drillInstanceId(config.drill.instancePrefix, drillId);
  // The cleanup step reads only the drill's id and instance id.
  const state = { drill: { drillId, instanceId } } as unknown as DrillState;
  const links = { executionArn };
  const context = { source: config.source.dbInstanceIdentifier, links };
  try {
    const outcome = (await runStep('cleanup', state, deps.drill, drillId, executionArn)) as {
      removed: string[];
    };
    // The step lists the blanked secret on every run; only a task or an instance is a copy left behind.
    const left = outcome.removed.filter((r) => !r.startsWith('secret of '));
    deps.metrics.addMetric('JobFailed', 'Count', 0, { job: ABORT_CLEANUP_JOB });
    if (left.length === 0) {
      deps.logger.info('drill execution ended; nothing of it was left', { drillId, status });
      return {
        drillId,
        status: status as AbortedStatus,
        removed: outcome.removed,
        published: 'none',
        problem: null,
      };
    }
    const resolution: Resolution = {
      class: 'CLEANUP_FAILED',
      id: drillId,
      message: `The drill execution ended ${status} before its cleanup; the cleanup run after it removed ${left.join(', ')}.`,
      evidence: { status, removed: outcome.removed.join(', '), executionArn },
    };
    await publishResolution(deps.sns, deps.topicArn, config.environment, resolution, context);
    deps.logger.info('drill execution ended; cleaned up after it', { drillId, status, removed: left });
    return {
      drillId,
      status: status as AbortedStatus,
      removed: outcome.removed,
      published: 'resolution',
      problem: null,
    };
  } catch (error) {
    const problem = (error as Error).message;
    deps.metrics.addMetric('JobFailed', 'Count', 1, { job: ABORT_CLEANUP_JOB });
    const escalation: Escalation = createEscalation(
      'CLEANUP_FAILED',
      drillId,
      `The drill execution ended ${status} before its cleanup, and the cleanup run after it failed: ${problem}`,
      { status, instanceId, executionArn },
      'aws',
    );
    await publishEscalation(deps.sns, deps.topicArn, config.environment, escalation, context);
    deps.logger.error('drill execution ended; cleanup after it failed', {
      drillId,
      status,
      error: (error as Error).name,
    });
    return { drillId, status: status as AbortedStatus, removed: [], published: 'escalation', problem };
  }
}
