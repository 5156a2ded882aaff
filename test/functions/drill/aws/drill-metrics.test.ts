import { describe, expect, it, vi } from 'vitest';
import type { DrillReport } from '../../../../functions/core/report.ts';
import { drillMetrics, publishDrillMetrics } from '../../../../functions/drill/adapters/aws/drill-metrics.ts';
import { drillStepRunner, reportHook } from '../../../../functions/drill/drivers/aws/step-handler.ts';
import type { DrillDeps } from '../../../../functions/drill/ports/drill-deps.ts';
import type { DrillState } from '../../../../functions/drill/steps/index.ts';
import { REPORTING_STEPS } from '../../../../functions/drill/steps/reporting-steps.ts';
import { createMetrics, type JobMetrics, metricsSink } from '../../../../functions/shared/powertools.ts';
import { drillReport } from './support.ts';

type Emf = Record<string, unknown> & { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] } };

/** Runs `publish` and returns the EMF documents Powertools printed to stdout meanwhile. */
async function captureEmf(publish: () => Promise<void> | void): Promise<Emf[]> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await publish();
  } finally {
    spy.mockRestore();
  }
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Emf);
}

function logRecorder() {
  const errors: { message: string; extra: Record<string, unknown> }[] = [];
  return {
    errors,
    logger: {
      info: () => {},
      warn: () => {},
      error: (message: string, extra?: Record<string, unknown>) =>
        errors.push({ message, extra: extra ?? {} }),
    },
  };
}

const failingSink = (): JobMetrics => ({
  addMetric: () => {
    throw new Error('metrics down');
  },
});

describe('drill metrics', () => {
  it('measures a passed drill: outcome, RPO, RTO, restore and step seconds, per environment', () => {
    const report = drillReport('drill-1');
    const metrics = drillMetrics(report);
    const env = { environment: 'test' };
    expect(metrics).toEqual([
      { name: 'DrillPassed', unit: 'Count', value: 1, dimensions: env },
      { name: 'RpoMinutes', unit: 'None', value: report.rpoMinutes, dimensions: env },
      { name: 'RtoMinutes', unit: 'None', value: 10, dimensions: env },
      { name: 'StepSeconds', unit: 'Seconds', value: 60, dimensions: { ...env, step: 'validate' } },
      { name: 'RestoreSeconds', unit: 'Seconds', value: 60, dimensions: env },
      { name: 'StepSeconds', unit: 'Seconds', value: 60, dimensions: { ...env, step: 'restore' } },
    ]);
    expect(report.rpoMinutes).not.toBeNull();
  });

  it('publishes no RPO, RTO or restore time for a drill that did not get far enough to measure', () => {
    const report = drillReport('drill-2', { failedStep: 'integrity' });
    const names = drillMetrics(report).map(
      (m) => `${m.name}${m.dimensions.step ? `:${m.dimensions.step}` : ''}=${m.value}`,
    );
    expect(names).toEqual(['DrillPassed=0', 'StepSeconds:validate=60', 'StepSeconds:integrity=60']);
  });

  it('leaves out skipped steps and falls back to a named environment when the report has none', () => {
    const base = drillReport('drill-3');
    const report: DrillReport = {
      ...base,
      environment: null,
      steps: base.steps.map((s) => (s.name === 'validate' ? { ...s, outcome: 'skipped' as const } : s)),
    };
    const metrics = drillMetrics(report, 'prod');
    expect(metrics.every((m) => m.dimensions.environment === 'prod')).toBe(true);
    expect(metrics.some((m) => m.dimensions.step === 'validate')).toBe(false);
  });

  it('prints the drill metrics as EMF in the RecoveryDrill namespace, one blob per dimension set', async () => {
    const sink = metricsSink(createMetrics(undefined, {}));
    const docs = await captureEmf(() => {
      expect(publishDrillMetrics(drillReport('drill-4'), sink)).toBe(6);
    });
    expect(docs).toHaveLength(6);
    expect(docs.map((d) => d._aws.CloudWatchMetrics[0]?.Dimensions)).toContainEqual([
      ['service', 'environment', 'step'],
    ]);
    expect(docs[0]).toMatchObject({ service: 'recovery-drill', environment: 'test', DrillPassed: 1 });
    expect(docs).toContainEqual(expect.objectContaining({ RtoMinutes: 10, environment: 'test' }));
  });

  it('publishes nothing for a dry run: it restored nothing to measure', async () => {
    const sink = metricsSink(createMetrics(undefined, {}));
    const docs = await captureEmf(() => {
      expect(publishDrillMetrics({ ...drillReport('drill-5'), dryRun: true }, sink)).toBe(0);
    });
    expect(docs).toEqual([]);
  });
});

describe('drill report hook', () => {
  it('publishes the metrics and records a passed drill', async () => {
    const recorded: string[] = [];
    const { logger, errors } = logRecorder();
    const hook = reportHook(metricsSink(createMetrics(undefined, {})), logger, async (r) => {
      recorded.push(r.drillId);
    });
    const docs = await captureEmf(() => hook(drillReport('drill-6')));
    expect(docs.map((d) => Object.keys(d).find((k) => /Passed|Minutes|Seconds$/.test(k)))).toContain(
      'DrillPassed',
    );
    expect(recorded).toEqual(['drill-6']);
    expect(errors).toEqual([]);
  });

  it('does not record a failed drill or a dry run as passed', async () => {
    const recorded: string[] = [];
    const { logger } = logRecorder();
    const hook = reportHook(metricsSink(createMetrics(undefined, {})), logger, async (r) => {
      recorded.push(r.drillId);
    });
    await captureEmf(async () => {
      await hook(drillReport('drill-7', { failedStep: 'integrity' }));
      await hook({ ...drillReport('drill-8'), dryRun: true });
    });
    expect(recorded).toEqual([]);
  });

  it('logs instead of failing the drill when the metrics or the record fail', async () => {
    const { logger, errors } = logRecorder();
    await reportHook(failingSink(), logger)(drillReport('drill-9'));
    await captureEmf(() =>
      reportHook(metricsSink(createMetrics(undefined, {})), logger, async () => {
        throw new Error('table gone');
      })(drillReport('drill-10')),
    );
    expect(errors.map((e) => e.extra)).toEqual([
      { drillId: 'drill-9', error: 'Error: metrics down' },
      { drillId: 'drill-10', error: 'Error: table gone' },
    ]);
  });

  it('runs after the report step has written its report, and after no other step', async () => {
    const written: string[] = [];
    const hooked: string[] = [];
    // Only what the report step reads: the clock, the targets and the report store.
    const deps = {
      now: () => new Date('2026-11-26T07:00:00Z'),
      settings: { config: { targets: { rpoMinutes: 60, rtoMinutes: 30 } } },
      reports: {
        write: async (report: DrillReport) => {
          written.push(report.drillId);
          return { json: 's3://bucket/report.json', markdown: 's3://bucket/report.md' };
        },
      },
    } as unknown as DrillDeps;
    const state: DrillState = {
      drill: {
        drillId: 'drill-11',
        instanceId: 'recovery-drill-drill-11',
        targetTime: '2026-11-26T06:00:00.000Z',
        requestedTarget: 'latest',
        startedAt: '2026-11-26T06:00:00.000Z',
        reason: null,
        requestedBy: null,
        dryRun: false,
        window: { earliest: null, latest: null },
        environment: 'test',
        mode: 'aws',
        endedAt: '2026-11-26T06:01:00.000Z',
        outcome: 'passed',
        detail: 'restoring to latest',
      } as DrillState['drill'],
    };
    const { logger } = logRecorder();
    const run = drillStepRunner('reporting', REPORTING_STEPS, deps, logger, async (report) => {
      hooked.push(`${report.drillId} after ${written.length} write(s)`);
    });
    await run({ step: 'report', state, execution: 'drill-11' });
    await expect(run({ step: 'notify', state, execution: 'drill-11' })).rejects.toThrow();
    expect(hooked).toEqual(['drill-11 after 1 write(s)']);
  });
});
