import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { RpoMonitorEnv } from '../../functions/shared/env.ts';
import { type RpoMonitorDeps, runRpoMonitor } from '../../functions/shared/jobs/rpo-monitor.ts';
import {
  COPY_REGION,
  clientConfig,
  createForeignSnapshot,
  createSourceInstance,
  createStateTable,
  createTopicWithInbox,
  recorder,
  rpoMonitorEnv,
  SOURCE_REGION,
  uniqueId,
  useMotoClients,
} from './fixtures.ts';

const aws = useMotoClients();

const MINUTE = 60_000;

/** A source whose point-in-time log is current (moto: LatestRestorableTime is always now). */
async function setup({ copySnapshot = true, env = {} as Partial<RpoMonitorEnv> } = {}) {
  const source = uniqueId();
  const managed = [
    { Key: 'recovery-drill:managed', Value: 'true' },
    { Key: 'recovery-drill:source', Value: source },
  ];
  await createSourceInstance(aws.clients.sourceRds, source);
  await createForeignSnapshot(aws.clients.sourceRds, source, `rd-${source}-2026-11-26`, managed);
  if (copySnapshot) {
    await createSourceInstance(aws.clients.copyRds, source);
    await createForeignSnapshot(aws.clients.copyRds, source, `rd-${source}-2026-11-26`, managed);
  }
  const inbox = await createTopicWithInbox(aws.clients);
  const table = await createStateTable(aws.clients.ddb);
  const rec = recorder();
  const deps = (now: Date, overrides: Partial<RpoMonitorDeps> = {}): RpoMonitorDeps => ({
    env: rpoMonitorEnv(source, inbox.topicArn, table, env),
    sourceRds: aws.clients.sourceRds,
    copyRds: aws.clients.copyRds,
    ddb: aws.clients.ddb,
    sns: aws.clients.sns,
    logger: rec.logger,
    metrics: rec.metricsSink,
    now: () => now,
    ...overrides,
  });
  return { source, inbox, rec, deps };
}

const later = (minutes: number) => new Date(Date.now() + minutes * MINUTE);

describe('rpo monitor', () => {
  it('escalates BACKUP_STALE once per incident and says when it has recovered', async () => {
    const { source, inbox, deps } = await setup();

    const first = await runRpoMonitor({}, deps(later(120)));
    expect(first).toMatchObject({ stale: true, incident: 'opened', published: true });
    expect(first.reasons[0]).toMatch(
      /^LatestRestorableTime .* lags 1\d\d(\.\d+)? min behind now, over the RPO target of 60 min$/,
    );
    const [escalation, ...none] = await inbox.drain();
    expect(none).toEqual([]);
    expect(escalation?.attributes).toMatchObject({
      class: 'BACKUP_STALE',
      severity: 'critical',
      kind: 'escalation',
    });
    expect(escalation?.body).toMatchObject({ class: 'BACKUP_STALE', id: `rpo-monitor/${source}` });

    const second = await runRpoMonitor({}, deps(later(135)));
    expect(second).toMatchObject({ stale: true, incident: 'continuing', published: false });
    expect(await inbox.drain()).toEqual([]);

    const recovered = await runRpoMonitor({}, deps(new Date()));
    expect(recovered).toMatchObject({ stale: false, incident: 'resolved', published: true, reasons: [] });
    const [resolution] = await inbox.drain();
    expect(resolution?.attributes).toMatchObject({
      class: 'BACKUP_STALE',
      severity: 'info',
      kind: 'resolution',
    });
    expect(resolution?.subject).toBe('[test] RECOVERED BACKUP_STALE: Backups are stale: RPO at risk now');
    expect(resolution?.body.message).toContain('closed after 2 stale check(s)');

    expect(await runRpoMonitor({}, deps(new Date()))).toMatchObject({ incident: 'none', published: false });
    expect(await runRpoMonitor({}, deps(later(120)))).toMatchObject({ incident: 'opened', published: true });
    expect((await inbox.drain()).map((m) => m.attributes.kind)).toEqual(['escalation']);
  });

  it('publishes the restorable-time lag and snapshot ages as metrics', async () => {
    const { rec, deps } = await setup();
    const result = await runRpoMonitor({}, deps(later(30)));
    expect(result).toMatchObject({ stale: false, incident: 'none' });
    const [lag] = rec.metric('RestorableTimeLag');
    expect(lag).toBeGreaterThan(29 * 60);
    expect(lag).toBeLessThanOrEqual(30 * 60);
    expect(rec.metric('NewestSnapshotAgeSourceRegion')).toHaveLength(1);
    expect(rec.metric('NewestSnapshotAgeCopyRegion')).toHaveLength(1);
    expect(rec.metricWith('BackupStale', {})).toEqual([0]);
    expect(rec.metricWith('BackupStale', { location: 'source' })).toEqual([0]);
    expect(rec.metricWith('BackupStale', { location: 'copy' })).toEqual([0]);
  });

  it('calls backups stale when the isolated region holds no snapshot or the newest is over a day old', async () => {
    const missing = await setup({ copySnapshot: false });
    const noCopy = await runRpoMonitor({}, missing.deps(new Date()));
    expect(noCopy.reasons).toEqual([
      `no available managed snapshot of ${missing.source} in ${COPY_REGION} (copy)`,
    ]);

    const old = await setup();
    // A day and 61 minutes later; the restorable time is fine because moto reports it as now.
    const aged = await runRpoMonitor({}, old.deps(later(24 * 60 + 61)));
    expect(aged.reasons.filter((r) => r.startsWith('newest managed snapshot'))).toHaveLength(2);
    expect(aged.snapshots.map((s) => [s.region, s.limitMinutes])).toEqual([
      [SOURCE_REGION, 24 * 60 + 60],
      [COPY_REGION, 24 * 60 + 60],
    ]);
  });

  it('calls backups stale when the source instance is gone', async () => {
    const { deps } = await setup();
    const gone = uniqueId('gone');
    const base = deps(new Date());
    const result = await runRpoMonitor({}, { ...base, env: { ...base.env, sourceDbInstanceId: gone } });
    expect(result.reasons[0]).toBe(`source instance ${gone} not found in ${SOURCE_REGION}`);
  });

  it('escalates on the next check when publishing the escalation failed', async () => {
    const { inbox, deps } = await setup();
    // moto cannot make SNS fail on demand: this one publish is mocked.
    const failing = new SNSClient(clientConfig('http://127.0.0.1:9', SOURCE_REGION));
    mockClient(failing)
      .on(PublishCommand)
      .rejects(Object.assign(new Error('KMS key disabled'), { name: 'KMSDisabledException' }));
    await expect(runRpoMonitor({}, deps(later(120), { sns: failing }))).rejects.toThrow('KMS key disabled');
    const retried = await runRpoMonitor({}, deps(later(135)));
    expect(retried).toMatchObject({ incident: 'continuing', published: true });
    expect((await inbox.drain()).map((m) => m.attributes.class)).toEqual(['BACKUP_STALE']);
  });
});
