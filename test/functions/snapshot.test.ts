import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  DescribeDBSnapshotAttributesCommand,
  DescribeDBSnapshotsCommand,
  DescribeExportTasksCommand,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../functions/core/errors.ts';
import {
  exportTaskIdFor,
  parseSnapshotEvent,
  snapshotIdFor,
  utcDay,
} from '../../functions/core/snapshot-naming.ts';
import { ForeignSnapshotError, tagsToRecord } from '../../functions/shared/aws/rds-snapshots.ts';
import type { SnapshotEnv } from '../../functions/shared/env.ts';
import { runSnapshot, type SnapshotDeps } from '../../functions/shared/jobs/snapshot.ts';
import {
  COPY_REGION,
  clientConfig,
  createCopyKey,
  createForeignSnapshot,
  createSourceInstance,
  createTopicWithInbox,
  type MotoClients,
  motoClients,
  recorder,
  SOURCE_REGION,
  snapshotEnv,
  uniqueId,
  useMotoClients,
} from './fixtures.ts';

const aws = useMotoClients();

const DAY_MS = 86_400_000;

/** A fresh source instance, copy key and escalation inbox, and the deps to run the job with. */
async function setup(
  overrides: (keys: { aliasArn: string }) => Partial<SnapshotEnv> = () => ({}),
  c = aws.clients,
) {
  const source = uniqueId();
  await createSourceInstance(c.sourceRds, source);
  const key = await createCopyKey(c.copyKms, (await c.copyRds.config.region()) as string);
  const inbox = await createTopicWithInbox(c);
  const rec = recorder();
  const env = snapshotEnv(source, inbox.topicArn, { copyKmsKeyId: key.aliasArn, ...overrides(key) });
  const deps = (now?: Date): SnapshotDeps => ({
    env,
    sourceRds: c.sourceRds,
    copyRds: c.copyRds,
    sns: c.sns,
    logger: rec.logger,
    metrics: rec.metricsSink,
    ...(now ? { now: () => now } : {}),
  });
  return { source, key, inbox, rec, env, deps };
}

/** The copy key under a given alias ARN, for a copy region equal to the source region. */
async function createCopyKeyIn(region: string, aliasArn: string) {
  const kms = new KMSClient(clientConfig(aws.moto.endpoint, region));
  const key = await kms.send(new CreateKeyCommand({}));
  await kms.send(
    new CreateAliasCommand({
      AliasName: aliasArn.slice(aliasArn.indexOf('alias/')),
      TargetKeyId: key.KeyMetadata?.KeyId,
    }),
  );
}

async function snapshotsOf(rds: MotoClients['sourceRds'], source: string) {
  const out = await rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' }));
  return (out.DBSnapshots ?? []).filter(
    (s) => tagsToRecord(s.TagList)['recovery-drill:source'] === source || s.DBInstanceIdentifier === source,
  );
}

describe('snapshot function', () => {
  it('creates the day snapshot tagged as managed and copies it to the copy region with the KMS key', async () => {
    const { source, key, inbox, deps } = await setup();
    const result = await runSnapshot({}, deps());
    const id = snapshotIdFor(source, utcDay(new Date()));
    expect(result).toMatchObject({
      snapshotId: id,
      created: true,
      copies: [{ id, region: COPY_REGION, created: true }],
    });

    const [snapshot] = await snapshotsOf(aws.clients.sourceRds, source);
    expect(snapshot?.DBSnapshotIdentifier).toBe(id);
    expect(tagsToRecord(snapshot?.TagList)).toEqual({
      'recovery-drill:managed': 'true',
      'recovery-drill:tier': result.tier,
      'recovery-drill:source': source,
      'recovery-drill:artifacts': 'a'.repeat(64),
    });
    const [copy] = await snapshotsOf(aws.clients.copyRds, source);
    expect(copy?.DBSnapshotIdentifier).toBe(id);
    expect(copy?.Encrypted).toBe(true);
    expect(copy?.KmsKeyId).toBe(key.keyArn);
    expect(tagsToRecord(copy?.TagList)['recovery-drill:managed']).toBe('true');
    expect(await inbox.drain()).toEqual([]);
  });

  it('changes nothing when run twice the same day', async () => {
    const { source, inbox, deps, rec } = await setup();
    await runSnapshot({}, deps());
    const before = [
      await snapshotsOf(aws.clients.sourceRds, source),
      await snapshotsOf(aws.clients.copyRds, source),
    ];
    const second = await runSnapshot({}, deps());
    const after = [
      await snapshotsOf(aws.clients.sourceRds, source),
      await snapshotsOf(aws.clients.copyRds, source),
    ];
    expect(second.created).toBe(false);
    expect(second.copies.every((c) => !c.created)).toBe(true);
    expect(after).toEqual(before);
    expect(after.map((list) => list.length)).toEqual([1, 1]);
    expect(rec.metric('SnapshotCreated')).toEqual([1, 0]);
    expect(await inbox.drain()).toEqual([]);
  });

  it('tags the first snapshot of a UTC month monthly and a later one of the same month daily', async () => {
    const { source, deps } = await setup();
    // moto stamps snapshots with the real time: the first run is for yesterday, taken today.
    const today = new Date();
    const first = await runSnapshot({}, deps(new Date(today.getTime() - DAY_MS)));
    const second = await runSnapshot({}, deps(today));
    expect(first).toMatchObject({ created: true, tier: 'monthly' });
    expect(second).toMatchObject({
      created: true,
      tier: 'daily',
      snapshotId: snapshotIdFor(source, utcDay(today)),
    });
    const tiers = Object.fromEntries(
      (await snapshotsOf(aws.clients.copyRds, source)).map((s) => [
        s.DBSnapshotIdentifier,
        tagsToRecord(s.TagList)['recovery-drill:tier'],
      ]),
    );
    expect(tiers).toEqual({ [first.snapshotId ?? '']: 'monthly', [second.snapshotId ?? '']: 'daily' });
  });

  it('shares the copy with the isolated account and starts one export per snapshot', async () => {
    const { source, deps } = await setup(() => ({
      copyAccountId: '210987654321',
      export: {
        bucket: 'backup-bucket',
        roleArn: 'arn:aws:iam::123456789012:role/export',
        kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/export',
      },
    }));
    const first = await runSnapshot({}, deps());
    const second = await runSnapshot({}, deps());
    const id = snapshotIdFor(source, utcDay(new Date()));
    expect(first.shared).toEqual([id]);
    expect(second.shared).toEqual([]);
    expect(first.exports).toEqual([{ taskId: exportTaskIdFor(id), started: true }]);
    expect(second.exports).toEqual([{ taskId: exportTaskIdFor(id), started: false }]);
    const attributes = await aws.clients.copyRds.send(
      new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: id }),
    );
    const restore = attributes.DBSnapshotAttributesResult?.DBSnapshotAttributes?.find(
      (a) => a.AttributeName === 'restore',
    );
    expect(restore?.AttributeValues).toEqual(['210987654321']);
    const tasks = await aws.clients.sourceRds.send(
      new DescribeExportTasksCommand({ ExportTaskIdentifier: exportTaskIdFor(id) }),
    );
    expect(tasks.ExportTasks?.map((t) => [t.S3Bucket, t.S3Prefix])).toEqual([
      ['backup-bucket', `exports/${source}`],
    ]);
  });

  it('copies the snapshot an RDS event names and ignores events about snapshots it did not make', async () => {
    const { source, deps } = await setup();
    const yesterday = new Date(Date.now() - DAY_MS);
    // Take yesterday's snapshot without its copy, as if the copy region was down then.
    await runSnapshot(
      {},
      { ...deps(yesterday), copyRds: { send: () => Promise.reject(new Error('copy region down')) } },
    ).catch(() => undefined);
    expect(await snapshotsOf(aws.clients.copyRds, source)).toEqual([]);
    const id = snapshotIdFor(source, utcDay(yesterday));
    const event = {
      source: 'aws.rds',
      'detail-type': 'RDS DB Snapshot Event',
      detail: { SourceIdentifier: id, EventID: 'RDS-EVENT-0042' },
    };
    const handled = await runSnapshot(event, deps());
    expect(handled).toMatchObject({ trigger: 'rds-event', snapshotId: id, copies: [{ id, created: true }] });

    await createForeignSnapshot(aws.clients.sourceRds, source, `${source}-by-hand`);
    const ignored = await runSnapshot(
      { ...event, detail: { SourceIdentifier: `${source}-by-hand` } },
      deps(),
    );
    expect(ignored.snapshotId).toBeNull();
    expect(ignored.skipped).toContain('not a managed daily snapshot');
    expect((await snapshotsOf(aws.clients.copyRds, source)).map((s) => s.DBSnapshotIdentifier)).toEqual([id]);
  });

  it('catches up an earlier day by hand without taking a snapshot, and refuses a day without one or a future day', async () => {
    const { source, deps } = await setup();
    const yesterday = new Date(Date.now() - DAY_MS);
    await runSnapshot(
      {},
      { ...deps(yesterday), copyRds: { send: () => Promise.reject(new Error('copy region down')) } },
    ).catch(() => undefined);
    const day = utcDay(yesterday);
    const caughtUp = await runSnapshot({ date: day }, deps());
    expect(caughtUp).toMatchObject({
      date: day,
      created: false,
      copies: [{ id: snapshotIdFor(source, day), created: true }],
    });
    expect((await snapshotsOf(aws.clients.sourceRds, source)).map((s) => s.DBSnapshotIdentifier)).toEqual([
      snapshotIdFor(source, day),
    ]);
    const before = utcDay(new Date(Date.now() - 2 * DAY_MS));
    await expect(runSnapshot({ date: before }, deps())).rejects.toThrow(
      `date: a day with a snapshot (${snapshotIdFor(source, before)} does not exist in eu-west-1)`,
    );
    const tomorrow = utcDay(new Date(Date.now() + DAY_MS));
    await expect(runSnapshot({ date: tomorrow }, deps())).rejects.toThrow(/^date: a UTC day not after today/);
  });

  it('keeps a same-region copy under its own id when isolation is by account only', async () => {
    const { source, deps } = await setup((key) => ({
      copyRegion: SOURCE_REGION,
      copyKmsKeyId: key.aliasArn.replace(COPY_REGION, SOURCE_REGION),
      copyAccountId: '210987654321',
    }));
    await createCopyKeyIn(SOURCE_REGION, deps().env.copyKmsKeyId);
    const result = await runSnapshot({}, { ...deps(), copyRds: aws.clients.sourceRds });
    const id = snapshotIdFor(source, utcDay(new Date()));
    expect(result.copies).toEqual([{ id: `${id}-copy`, region: SOURCE_REGION, created: true }]);
    expect(result.shared).toEqual([`${id}-copy`]);
    expect(
      (await snapshotsOf(aws.clients.sourceRds, source)).map((s) => s.DBSnapshotIdentifier).sort(),
    ).toEqual([id, `${id}-copy`]);
  });

  it('publishes BACKUP_FAILED and rethrows when the source instance does not exist', async () => {
    const { inbox, deps, rec } = await setup();
    const missing = uniqueId('gone');
    const run = runSnapshot({}, { ...deps(), env: { ...deps().env, sourceDbInstanceId: missing } });
    await expect(run).rejects.toThrow(`DBInstance ${missing} not found`);
    const [message, ...rest] = await inbox.drain();
    expect(rest).toEqual([]);
    expect(message?.attributes).toMatchObject({
      class: 'BACKUP_FAILED',
      severity: 'high',
      environment: 'test',
    });
    expect(message?.subject).toBe(
      `[HIGH] BACKUP_FAILED · test · ${missing} · snapshot/${missing}/${utcDay(new Date())}`,
    );
    expect(message?.body).toMatchObject({
      class: 'BACKUP_FAILED',
      id: `snapshot/${missing}/${utcDay(new Date())}`,
    });
    expect(rec.metric('BackupFailed')).toEqual([1]);
  });

  it('refuses a malformed date before creating anything', async () => {
    const { source, inbox, deps } = await setup();
    await expect(runSnapshot({ date: '2026-02-30' }, deps())).rejects.toThrow(InputError);
    await expect(runSnapshot({ date: '2026-02-30' }, deps())).rejects.toThrow(
      'date: a UTC day as YYYY-MM-DD; got "2026-02-30"',
    );
    expect(await snapshotsOf(aws.clients.sourceRds, source)).toEqual([]);
    expect((await inbox.drain()).map((m) => m.attributes.class)).toEqual(['BACKUP_FAILED', 'BACKUP_FAILED']);
  });

  it('refuses to adopt a snapshot with the day id that it did not make', async () => {
    const { source, deps } = await setup();
    await createForeignSnapshot(aws.clients.sourceRds, source, snapshotIdFor(source, utcDay(new Date())));
    await expect(runSnapshot({}, deps())).rejects.toThrow(ForeignSnapshotError);
    expect(await snapshotsOf(aws.clients.copyRds, source)).toEqual([]);
  });

  it('warns with a warning-severity escalation when the regional manual-snapshot count nears the quota', async () => {
    // Regions of their own: the count covers every manual snapshot in the region.
    const isolated = motoClients(aws.moto.endpoint, { source: 'us-east-2', copy: 'us-west-2' });
    const { source, inbox, rec, deps } = await setup(
      () => ({ sourceRegion: 'us-east-2', copyRegion: 'us-west-2' }),
      isolated,
    );
    for (let i = 0; i < 89; i++)
      await createForeignSnapshot(isolated.sourceRds, source, `${source}-manual-${i}`);
    const result = await runSnapshot(
      {},
      { ...deps(), sourceRds: isolated.sourceRds, copyRds: isolated.copyRds },
    );
    expect(result.manualSnapshots).toEqual([
      { region: 'us-east-2', count: 90 },
      { region: 'us-west-2', count: 1 },
    ]);
    const messages = await inbox.drain();
    expect(messages.map((m) => [m.attributes.class, m.attributes.severity])).toEqual([
      ['BACKUP_FAILED', 'warning'],
    ]);
    expect(messages[0]?.body.message).toContain('90 of the 100 manual DB snapshots RDS allows in us-east-2');
    expect(rec.metric('ManualSnapshotQuotaWarning')).toEqual([1]);
  });
});

describe('snapshot event', () => {
  it('reads a scheduled event, a day and an RDS event, and names the bad field otherwise', () => {
    expect(parseSnapshotEvent({})).toEqual({ trigger: 'schedule', date: null });
    expect(parseSnapshotEvent({ date: '2026-11-26' })).toEqual({ trigger: 'schedule', date: '2026-11-26' });
    expect(
      parseSnapshotEvent({
        source: 'aws.rds',
        detail: { SourceArn: 'arn:aws:rds:eu-west-1:1:snapshot:rd-x-2026-11-26' },
      }),
    ).toEqual({ trigger: 'rds-event', snapshotId: 'rd-x-2026-11-26' });
    expect(() => parseSnapshotEvent({ dryRun: true })).toThrow(/^dryRun: no such field/);
    expect(() => parseSnapshotEvent({ date: 20261126 })).toThrow(
      /^date: a UTC day as YYYY-MM-DD; got 20261126/,
    );
  });

  it('keeps export task ids within 60 characters and distinct for long source ids', () => {
    const long = snapshotIdFor(`db-${'x'.repeat(60)}`, '2026-11-26');
    const other = snapshotIdFor(`db-${'x'.repeat(59)}y`, '2026-11-26');
    expect(exportTaskIdFor('rd-btcts-2026-11-26')).toBe('rd-btcts-2026-11-26');
    expect(exportTaskIdFor(long)).toHaveLength(60);
    expect(exportTaskIdFor(long)).toMatch(/^rd-db-x+-[0-9a-f]{8}-2026-11-26$/);
    expect(exportTaskIdFor(long)).not.toBe(exportTaskIdFor(other));
  });
});
