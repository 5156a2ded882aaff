import { describe, expect, it, vi } from 'vitest';
import { createMetrics, metricsSink } from '../../../functions/shared/powertools.ts';

type Emf = Record<string, unknown> & {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
};

/** Runs `publish` and returns the EMF documents Powertools printed to stdout meanwhile. */
function captureEmf(publish: () => void): Emf[] {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    publish();
  } finally {
    spy.mockRestore();
  }
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Emf);
}

const backupEnv = () => ({ POWERTOOLS_SERVICE_NAME: 'recovery-drill' });

describe('powertools metrics', () => {
  it('publishes in the RecoveryDrill namespace with the service and environment dimensions', () => {
    const metrics = createMetrics('prod', backupEnv());
    const [doc, ...rest] = captureEmf(() => {
      metricsSink(metrics).addMetric('RestorableLagMinutes', 'None', 12.5);
      metrics.publishStoredMetrics();
    });
    expect(rest).toEqual([]);
    const directive = doc?._aws.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe('RecoveryDrill');
    expect(directive?.Dimensions).toEqual([['service', 'environment']]);
    expect(directive?.Metrics).toEqual([{ Name: 'RestorableLagMinutes', Unit: 'None' }]);
    expect(doc).toMatchObject({ service: 'recovery-drill', environment: 'prod', RestorableLagMinutes: 12.5 });
  });

  it('publishes a metric with extra dimensions on its own, at once, beside the default ones', () => {
    const metrics = createMetrics('prod', backupEnv());
    const sink = metricsSink(metrics);
    const immediate = captureEmf(() => {
      sink.addMetric('NewestSnapshotAgeMinutes', 'None', 90, { location: 'copy', region: 'eu-central-1' });
      sink.addMetric('JobFailed', 'Count', 1, { job: 'prune' });
    });
    expect(immediate).toHaveLength(2);
    expect(immediate[0]?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([
      ['service', 'environment', 'location', 'region'],
    ]);
    expect(immediate[0]).toMatchObject({
      environment: 'prod',
      location: 'copy',
      region: 'eu-central-1',
      NewestSnapshotAgeMinutes: 90,
    });
    expect(immediate[1]).toMatchObject({ job: 'prune', JobFailed: 1 });
    // Nothing was left in the shared blob for the end of the invocation.
    expect(captureEmf(() => metrics.publishStoredMetrics())).toEqual([]);
  });

  it('leaves the environment dimension out when no environment is given', () => {
    const metrics = createMetrics(undefined, {});
    const [doc] = captureEmf(() => {
      metricsSink(metrics).addMetric('DrillPassed', 'Count', 1, { environment: 'staging' });
    });
    expect(doc?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'environment']]);
    expect(doc).toMatchObject({ service: 'recovery-drill', environment: 'staging', DrillPassed: 1 });
  });
});
