import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  daysSinceLastPassedDrill,
  lastPassedDrillKey,
  recordPassedDrill,
} from '../../functions/shared/jobs/last-passed-drill.ts';
import { runRpoMonitor } from '../../functions/shared/jobs/rpo-monitor.ts';
import type { JobMetrics } from '../../functions/shared/powertools.ts';
import {
  createForeignSnapshot,
  createSourceInstance,
  createStateTable,
  createTopicWithInbox,
  recorder,
  rpoMonitorEnv,
  uniqueId,
  useMotoClients,
} from './fixtures.ts';

const aws = useMotoClients();
const DAY = 86_400_000;
const at = (days: number) => new Date(Date.parse('2026-08-01T00:00:00Z') + days * DAY);

/** Records every metric with its dimensions (the shared recorder keeps no dimensions). */
function dimensionRecorder() {
  const metrics: { name: string; value: number; dimensions?: Readonly<Record<string, string>> }[] = [];
  const sink: JobMetrics = {
    addMetric: (name, _unit, value, dimensions) => metrics.push({ name, value, dimensions }),
  };
  return { metrics, sink };
}

describe('last passed drill', () => {
  it('starts the clock at the first check when no drill has passed yet, and keeps that baseline', async () => {
    const table = await createStateTable(aws.clients.ddb);
    expect(await daysSinceLastPassedDrill(aws.clients.ddb, table, 'prod', at(0))).toEqual({
      days: 0,
      since: at(0).toISOString(),
      baseline: true,
    });
    expect(await daysSinceLastPassedDrill(aws.clients.ddb, table, 'prod', at(101))).toMatchObject({
      days: 101,
      since: at(0).toISOString(),
      baseline: true,
    });
  });

  it('counts from the last passed drill, per environment', async () => {
    const table = await createStateTable(aws.clients.ddb);
    await recordPassedDrill(aws.clients.ddb, table, 'prod', 'drill-a', at(10));
    await recordPassedDrill(aws.clients.ddb, table, 'prod', 'drill-b', at(40));
    expect(await daysSinceLastPassedDrill(aws.clients.ddb, table, 'prod', at(40.5))).toEqual({
      days: 0.5,
      since: at(40).toISOString(),
      baseline: false,
    });
    const stored = await aws.clients.ddb.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: lastPassedDrillKey('prod') } } }),
    );
    expect(stored.Item?.drillId?.S).toBe('drill-b');
    expect((await daysSinceLastPassedDrill(aws.clients.ddb, table, 'staging', at(41))).baseline).toBe(true);
  });

  it('is published by the RPO watch on every check, with the lag and the snapshot age per region', async () => {
    const source = uniqueId();
    const managed = [
      { Key: 'recovery-drill:managed', Value: 'true' },
      { Key: 'recovery-drill:source', Value: source },
    ];
    for (const rds of [aws.clients.sourceRds, aws.clients.copyRds]) {
      await createSourceInstance(rds, source);
      await createForeignSnapshot(rds, source, `rd-${source}-2026-11-26`, managed);
    }
    const inbox = await createTopicWithInbox(aws.clients);
    const table = await createStateTable(aws.clients.ddb);
    await recordPassedDrill(aws.clients.ddb, table, 'test', 'drill-c', new Date(Date.now() - 120 * DAY));
    const { metrics, sink } = dimensionRecorder();
    await runRpoMonitor(
      {},
      {
        env: rpoMonitorEnv(source, inbox.topicArn, table),
        sourceRds: aws.clients.sourceRds,
        copyRds: aws.clients.copyRds,
        ddb: aws.clients.ddb,
        sns: aws.clients.sns,
        logger: recorder().logger,
        metrics: sink,
      },
    );
    const days = metrics.find((m) => m.name === 'DaysSinceLastPassedDrill')?.value ?? 0;
    expect(days).toBeGreaterThanOrEqual(120);
    expect(days).toBeLessThan(121);
    // The source's lag: once without a location (the RestorableLagAlarm's), once with it (the graph's).
    expect(metrics.filter((m) => m.name === 'RestorableLagMinutes').map((m) => m.dimensions)).toEqual([
      undefined,
      { location: 'source', region: 'eu-west-1' },
    ]);
    expect(metrics.filter((m) => m.name === 'NewestSnapshotAgeMinutes').map((m) => m.dimensions)).toEqual([
      { location: 'source', region: 'eu-west-1' },
      { location: 'copy', region: 'eu-central-1' },
    ]);
  });
});
