/**
 * What every drill step shares: the execution state as far as the steps read it, the step's
 * context, and the helpers that time a step and read an earlier step's result. The state machine
 * passes `{ step, state, execution }` and stores each result where the step registry
 * (`core/drill-steps.ts`) says; nothing a step returns holds a password, a session cookie or a
 * token: only references.
 */
import type { DriftReport } from '../../core/drift.ts';
import type { DrillFrom } from '../../core/drill-input.ts';
import type { Escalation } from '../../core/escalations.ts';
import type { Evaluation, HeartbeatReading, RestorePointSource } from '../../core/evaluate.ts';
import { redactCredentials } from '../../core/redact.ts';
import type { AppVerdict } from '../../core/report.ts';
import type { IntegrityResult } from '../integrity.ts';
import type { ConnectionInfo, DrillDeps } from '../ports/drill-deps.ts';
import { DrillStateError } from '../ports/errors.ts';

/** The timing and outcome every step result carries (the report's step row). */
export interface Timed {
  startedAt: string;
  endedAt: string;
  outcome: 'passed' | 'warning';
  detail: string;
}

export interface DrillInfo {
  drillId: string;
  instanceId: string;
  /**
   * T, the moment RPO is measured from (design.md, Definitions): the drill's start for `latest`
   * (what a restore at that moment would lose), the chosen time otherwise.
   */
  targetTime: string;
  /** What was asked: `latest` or the chosen time (ISO UTC). */
  requestedTarget: string;
  startedAt: string;
  reason: string | null;
  requestedBy: string | null;
  dryRun: boolean;
  /** Where the data came from (`source`, or an isolated copy): the report records and titles it. */
  from: DrillFrom;
  window: { earliest: string | null; latest: string | null };
  environment: string;
  mode: 'local' | 'aws';
  /** The Step Functions execution (AWS), for the console link in notifications. */
  executionArn: string | null;
}

/** The execution state, as far as the steps read it (fields are the registry's result paths). */
export interface DrillState {
  drill?: DrillInfo & Timed;
  restore?: Timed & { instanceId: string };
  restoreStatus?: Timed & {
    status: string;
    pollSeconds: number;
    polls: number;
    elapsedSeconds: number;
    restorePointAt: string | null;
    restorePointSource: RestorePointSource | null;
    endpoint: { host: string; port: number } | null;
  };
  connection?: Timed & { secretRef: string } & ConnectionInfo;
  drift?: Timed & DriftReport & { source: string };
  migrateTask?: { exitCode: number | null; stoppedReason: string | null; taskArn: string | null };
  migration?: Timed & { exitCode: number; applied: string[] };
  app?: Timed & { baseUrl: string; handle: string };
  smoke?: Partial<Record<'health' | 'ready' | 'login' | 'search' | 'day', Timed>>;
  integrity?: Timed & IntegrityResult & { heartbeat: HeartbeatReading | null };
  evaluation?: Timed & { evaluation: Evaluation; appVerdict: AppVerdict | null; restorePointAt: string };
  cleanup?: Timed & { removed: string[]; kept: string[] };
  report?: {
    passed: boolean;
    summary: string;
    location: { json: string; markdown: string } | null;
    escalations: Escalation[];
  };
  failures?: Partial<Record<string, { Error: string; Cause: string }>>;
  [key: string]: unknown;
}

/** What a step's handler gets: the state, the ports, and the execution it runs in. */
export interface StepContext {
  readonly state: DrillState;
  readonly deps: DrillDeps;
  /** The execution's name: the drill id. */
  readonly executionName: string;
  /** The execution's ARN (AWS), for the console link in notifications. */
  readonly executionArn: string | null;
}

/** An earlier step's result, or a DrillStateError saying which step did not run. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined)
    throw new DrillStateError(`the drill state has no ${what}: a previous step did not run`, {
      missing: what,
    });
  return value;
}

/** Runs a step's body and stamps its result with its times, its outcome and a redacted detail. */
export async function timed<T extends object>(
  deps: DrillDeps,
  body: (startedAt: Date) => Promise<T & { detail: string; outcome?: 'passed' | 'warning' }>,
): Promise<T & Timed> {
  const startedAt = deps.now();
  const result = await body(startedAt);
  return {
    ...result,
    outcome: result.outcome ?? 'passed',
    detail: redactCredentials(result.detail),
    startedAt: startedAt.toISOString(),
    endedAt: deps.now().toISOString(),
  };
}

/** Locally the engine always writes a heartbeat beside its source; in AWS only when set up. */
export function heartbeatExpected(deps: DrillDeps): boolean {
  return deps.settings.mode === 'local' || deps.settings.config.heartbeat.mode !== 'none';
}
