/**
 * A drill run step by step through `runStep`, each step's result stored where the state machine
 * stores it and a failed step caught into `failures.<step>` followed by cleanup, report and notify,
 * as the synthesized machine does. For the RPO tests that need a real restore (local engine or the
 * RDS adapter) and the smoke checks against an app with the BT-CTS contract, without the example
 * app's migrate and start commands: the app is already running, so `startApp` is the contract app.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../../functions/core/config.ts';
import { type DrillTaskStep, withStepResult } from '../../../functions/core/drill-steps.ts';
import type { DrillReport } from '../../../functions/core/report.ts';
import { FolderReportStore, RecordingNotifier } from '../../../functions/drill/adapters/local/reports.ts';
import { FileSecretStore } from '../../../functions/drill/adapters/local/secrets.ts';
import type { DatabaseRecoveryPort } from '../../../functions/drill/ports/database-recovery.ts';
import type { DrillDeps } from '../../../functions/drill/ports/drill-deps.ts';
import { failureRecord } from '../../../functions/drill/ports/errors.ts';
import { type DrillState, runStep } from '../../../functions/drill/steps/index.ts';
import type { ContractApp } from '../../support/contract-app.ts';

export interface StepDrillOptions {
  readonly config: Config;
  readonly mode: 'local' | 'aws';
  readonly recovery: DatabaseRecoveryPort;
  /** Gives the drill secret the restored database's URL (the local engine, or a stand-in for RDS). */
  readonly instanceUrl: (instanceId: string) => Promise<string | null>;
  /** The app the smoke checks talk to (it plays the app the drill would have started). */
  readonly app: ContractApp;
  readonly adminPassword: string;
  /** Folder for the drill secret, the reports and the notifications. */
  readonly dir: string;
  /** Execution input: `{ targetTime?, reason? }`. */
  readonly input?: Record<string, unknown>;
  readonly keepInstance?: boolean;
}

export interface StepDrillResult {
  readonly state: DrillState;
  /** The first step that failed (null when none did); validate's failure means nothing ran. */
  readonly failed: { step: string; error: Error } | null;
  /** The report the report step wrote (null when the input was refused). */
  readonly report: DrillReport | null;
  readonly markdown: string | null;
  readonly html: string | null;
  /** The notifier's printed lines (escalations and the summary). */
  readonly printed: string[];
}

const DRILL_STEPS: DrillTaskStep[] = [
  'restore',
  'describeRestore',
  'connect',
  'smokeLogin',
  'smokeSearch',
  'smokeDay',
  'integrity',
  'evaluate',
];

/** Runs one drill: validate, restore, wait, connect, the app's checks, integrity, evaluate, then cleanup, report and notify. */
export async function runStepDrill(options: StepDrillOptions): Promise<StepDrillResult> {
  const drillId = `d-${Date.now().toString(36)}-${Math.random().toString(16).slice(2, 6)}`;
  const printed: string[] = [];
  const deps: DrillDeps = {
    settings: {
      config: options.config,
      mode: options.mode,
      restoreTimeoutSeconds: 300,
      keepInstance: options.keepInstance ?? false,
    },
    recovery: options.recovery,
    secrets: new FileSecretStore(options.dir, { instanceUrl: options.instanceUrl }),
    app: {
      start: () => Promise.reject(new Error('the app is already running')),
      stopAll: async () => [],
    },
    artifacts: { migrations: () => Promise.reject(new Error('no migrations in these drills')) },
    reports: new FolderReportStore(join(options.dir, 'reports')),
    notifier: new RecordingNotifier(join(options.dir, 'notifications.jsonl'), (line) => printed.push(line)),
    adminPassword: async () => options.adminPassword,
    now: () => new Date(),
  };
  const state: DrillState = { ...(options.input ?? {}) };
  let failed: StepDrillResult['failed'] = null;
  const run = async (step: DrillTaskStep): Promise<boolean> => {
    try {
      const result = await runStep(step, structuredClone(state), deps, drillId);
      Object.assign(state, withStepResult(state, step, JSON.parse(JSON.stringify(result))));
      return true;
    } catch (error) {
      const e = error as Error;
      // What the state machine's Catch keeps: the name, and the message with the evidence.
      state.failures = { ...state.failures, [step]: failureRecord(e) };
      failed ??= { step, error: e };
      return false;
    }
  };
  if (!(await run('validate'))) {
    return { state, failed, report: null, markdown: null, html: null, printed };
  }
  for (const step of DRILL_STEPS) {
    let ok = await run(step);
    // The Choice of the machine: look again until the instance is available.
    while (ok && step === 'describeRestore' && state.restoreStatus?.status === 'creating') {
      await new Promise((r) => setTimeout(r, 200));
      ok = await run(step);
    }
    if (!ok) break;
    // Start app: the contract app is the app the drill started.
    if (step === 'connect') {
      const now = new Date().toISOString();
      state.app = {
        startedAt: now,
        endedAt: now,
        outcome: 'passed',
        detail: `app started at ${options.app.url}`,
        baseUrl: options.app.url,
        handle: 'contract-app',
      };
    }
  }
  for (const step of ['cleanup', 'report', 'notify'] as const) await run(step);
  const reports = join(options.dir, 'reports');
  const file = (ext: string) => join(reports, `${drillId}.${ext}`);
  return {
    state,
    failed,
    report: JSON.parse(readFileSync(file('json'), 'utf8')) as DrillReport,
    markdown: readFileSync(file('md'), 'utf8'),
    html: readFileSync(file('html'), 'utf8'),
    printed,
  };
}
