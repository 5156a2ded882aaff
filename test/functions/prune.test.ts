import {
  type DBSnapshot,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  deleteManagedSnapshot,
  listManualSnapshots,
  UnmanagedSnapshotError,
} from '../../functions/shared/aws/rds-snapshots.ts';
import type { PruneEnv } from '../../functions/shared/env.ts';
import { type PruneDeps, type PruneReport, runPrune } from '../../functions/shared/jobs/prune.ts';
import {
  COPY_REGION,
  clientConfig,
  createBackupBucket,
  createForeignSnapshot,
  createSourceInstance,
  createTopicWithInbox,
  pruneEnv,
  recorder,
  SOURCE_REGION,
  uniqueId,
  useMotoClients,
} from './fixtures.ts';

const aws = useMotoClients();

const managedTags = (source: string) => [
  { Key: 'recovery-drill:managed', Value: 'true' },
  { Key: 'recovery-drill:tier', Value: 'daily' },
  { Key: 'recovery-drill:source', Value: source },
];

/**
 * In both regions: three managed snapshots of the source (all of today: moto stamps the real time),
 * one made by hand, and one managed snapshot of another database.
 */
async function history() {
  const source = uniqueId();
  const other = uniqueId('other');
  for (const rds of [aws.clients.sourceRds, aws.clients.copyRds]) {
    await createSourceInstance(rds, source);
    await createSourceInstance(rds, other);
    for (const n of [1, 2, 3])
      await createForeignSnapshot(rds, source, `rd-${source}-m${n}`, managedTags(source));
    await createForeignSnapshot(rds, source, `${source}-by-hand`);
    await createForeignSnapshot(rds, other, `rd-${other}-m1`, managedTags(other));
  }
  return { source, other };
}

async function setup(overrides: Partial<PruneEnv> = {}) {
  const { source, other } = await history();
  const inbox = await createTopicWithInbox(aws.clients);
  const { bucket } = await createBackupBucket(aws.clients);
  const rec = recorder();
  const deps: PruneDeps = {
    env: pruneEnv(source, inbox.topicArn, bucket, overrides),
    sourceRds: aws.clients.sourceRds,
    copyRds: aws.clients.copyRds,
    s3: aws.clients.s3,
    sns: aws.clients.sns,
    logger: rec.logger,
    metrics: rec.metricsSink,
  };
  return { source, other, inbox, bucket, rec, deps };
}

async function ids(rds: RDSClient, ...owners: string[]): Promise<string[]> {
  const out = await rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' }));
  return (out.DBSnapshots ?? [])
    .map((s) => s.DBSnapshotIdentifier ?? '')
    .filter((id) => owners.some((o) => id.includes(o)))
    .sort();
}

async function readJson(bucket: string, key: string): Promise<Record<string, unknown>> {
  const out = await aws.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse((await out.Body?.transformToString()) ?? '{}') as Record<string, unknown>;
}

const deletedIn = (report: PruneReport) => report.locations.map((l) => [l.region, l.deleted]);

describe('prune function', () => {
  it('deletes superseded snapshots in both regions and leaves restore points, hand-made and other sources alone', async () => {
    const { source, other, inbox, bucket, deps } = await setup();
    const report = await runPrune({}, deps);
    // m1 is the month's first (monthly point), m3 the day's newest (daily point): m2 goes.
    expect(deletedIn(report)).toEqual([
      [SOURCE_REGION, [`rd-${source}-m2`]],
      [COPY_REGION, [`rd-${source}-m2`]],
    ]);
    const left = [`${source}-by-hand`, `rd-${other}-m1`, `rd-${source}-m1`, `rd-${source}-m3`].sort();
    expect(await ids(aws.clients.sourceRds, source, other)).toEqual(left);
    expect(await ids(aws.clients.copyRds, source, other)).toEqual(left);

    const plan = await readJson(bucket, report.planKey);
    expect(plan).toMatchObject({ phase: 'planned', dryRun: false, source, blocked: null });
    expect(report.planKey).toMatch(/^prune\/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\.json$/);
    const result = await readJson(bucket, report.resultKey);
    expect(result.locations).toEqual(report.locations);
    expect(await inbox.drain()).toEqual([]);
  });

  it('deletes nothing the second time', async () => {
    const { source, deps, rec } = await setup();
    await runPrune({}, deps);
    const before = await ids(aws.clients.sourceRds, source);
    const second = await runPrune({}, deps);
    expect(deletedIn(second)).toEqual([
      [SOURCE_REGION, []],
      [COPY_REGION, []],
    ]);
    expect(second.locations.every((l) => l.plan.delete.length === 0)).toBe(true);
    expect(await ids(aws.clients.sourceRds, source)).toEqual(before);
    expect(rec.metric('SnapshotsDeleted')).toEqual([2, 0]);
  });

  it('only reports in a dry run, whether the event or the configuration asks for it', async () => {
    const fromEvent = await setup();
    const before = await ids(aws.clients.sourceRds, fromEvent.source);
    const report = await runPrune({ dryRun: true }, fromEvent.deps);
    expect(report).toMatchObject({ dryRun: true, dryRunFrom: 'event' });
    expect(report.locations.map((l) => l.plan.delete.map((d) => d.id))).toEqual([
      [`rd-${fromEvent.source}-m2`],
      [`rd-${fromEvent.source}-m2`],
    ]);
    expect(await ids(aws.clients.sourceRds, fromEvent.source)).toEqual(before);
    expect(await readJson(fromEvent.bucket, report.planKey)).toMatchObject({
      dryRun: true,
      phase: 'planned',
    });

    const fromConfig = await setup({ dryRun: true });
    const configured = await runPrune({ dryRun: false }, fromConfig.deps);
    expect(configured).toMatchObject({ dryRun: true, dryRunFrom: 'config' });
    expect(deletedIn(configured)).toEqual([
      [SOURCE_REGION, []],
      [COPY_REGION, []],
    ]);
  });

  it('deletes at most the cap per run, counted over both regions', async () => {
    const { source, deps } = await setup({ maxDeletionsPerRun: 1 });
    const first = await runPrune({}, deps);
    expect(deletedIn(first)).toEqual([
      [SOURCE_REGION, [`rd-${source}-m2`]],
      [COPY_REGION, []],
    ]);
    const second = await runPrune({}, deps);
    expect(deletedIn(second)).toEqual([
      [SOURCE_REGION, []],
      [COPY_REGION, [`rd-${source}-m2`]],
    ]);
  });

  it('plans source snapshots and same-region copies apart when isolation is by account only', async () => {
    const source = uniqueId();
    await createSourceInstance(aws.clients.sourceRds, source);
    for (const n of [1, 2, 3]) {
      await createForeignSnapshot(aws.clients.sourceRds, source, `rd-${source}-m${n}`, managedTags(source));
      await createForeignSnapshot(
        aws.clients.sourceRds,
        source,
        `rd-${source}-m${n}-copy`,
        managedTags(source),
      );
    }
    const inbox = await createTopicWithInbox(aws.clients);
    const { bucket } = await createBackupBucket(aws.clients);
    const rec = recorder();
    const report = await runPrune(
      {},
      {
        env: pruneEnv(source, inbox.topicArn, bucket, { copyRegion: SOURCE_REGION }),
        sourceRds: aws.clients.sourceRds,
        copyRds: aws.clients.sourceRds,
        s3: aws.clients.s3,
        sns: aws.clients.sns,
        logger: rec.logger,
        metrics: rec.metricsSink,
      },
    );
    expect(report.locations.map((l) => [l.label, l.listed, l.deleted])).toEqual([
      ['source', 3, [`rd-${source}-m2`]],
      ['copy', 3, [`rd-${source}-m2-copy`]],
    ]);
    expect(await ids(aws.clients.sourceRds, source)).toEqual(
      [`rd-${source}-m1`, `rd-${source}-m1-copy`, `rd-${source}-m3`, `rd-${source}-m3-copy`].sort(),
    );
  });

  it('refuses a bad event by name and deletes nothing', async () => {
    const { source, deps, inbox } = await setup();
    await expect(runPrune({ dryRun: 'yes' }, deps)).rejects.toThrow('dryRun: true or false; got "yes"');
    expect(await ids(aws.clients.sourceRds, source)).toHaveLength(4);
    expect((await inbox.drain()).map((m) => m.attributes.class)).toEqual(['PRUNE_BLOCKED']);
  });
});

describe('deletion guard', () => {
  it('refuses in code to delete a snapshot not tagged managed, or managed for another source', async () => {
    const { source, other } = await history();
    await expect(
      deleteManagedSnapshot(aws.clients.sourceRds, SOURCE_REGION, `${source}-by-hand`, source),
    ).rejects.toThrow(UnmanagedSnapshotError);
    await expect(
      deleteManagedSnapshot(aws.clients.sourceRds, SOURCE_REGION, `rd-${other}-m1`, source),
    ).rejects.toThrow(`refusing to delete snapshot rd-${other}-m1 in ${SOURCE_REGION}`);
    expect(await ids(aws.clients.sourceRds, source, other)).toContain(`${source}-by-hand`);
    expect(await ids(aws.clients.sourceRds, source, other)).toContain(`rd-${other}-m1`);
    expect(await deleteManagedSnapshot(aws.clients.sourceRds, SOURCE_REGION, `rd-${source}-m1`, source)).toBe(
      'deleted',
    );
    expect(await deleteManagedSnapshot(aws.clients.sourceRds, SOURCE_REGION, `rd-${source}-m1`, source)).toBe(
      'gone',
    );
  });
});

// moto ignores MaxRecords/Marker (it never paginates) and cannot throttle or fail half-way through a
// listing: these tests mock the RDS client with aws-sdk-client-mock, and only for that.
function snapshot(id: string, source: string): DBSnapshot {
  return {
    DBSnapshotIdentifier: id,
    DBSnapshotArn: `arn:aws:rds:${SOURCE_REGION}:123456789012:snapshot:${id}`,
    SnapshotType: 'manual',
    Status: 'available',
    SnapshotCreateTime: new Date('2026-11-01T03:00:00Z'),
    TagList: managedTags(source),
  };
}

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
}

function recordingSleep() {
  const delays: number[] = [];
  return {
    delays,
    retry: { attempts: 4, baseDelayMs: 100, sleep: async (ms: number) => void delays.push(ms) },
  };
}

describe('snapshot listing', () => {
  it('follows Marker through every page', async () => {
    const rds = new RDSClient(clientConfig('http://127.0.0.1:9', SOURCE_REGION));
    const mock = mockClient(rds);
    mock
      .on(DescribeDBSnapshotsCommand)
      .resolvesOnce({ DBSnapshots: [snapshot('a', 's'), snapshot('b', 's')], Marker: 'page-2' })
      .resolvesOnce({ DBSnapshots: [snapshot('c', 's')], Marker: 'page-3' })
      .resolvesOnce({ DBSnapshots: [snapshot('d', 's')] });
    const listing = await listManualSnapshots(rds, SOURCE_REGION, { pageSize: 2 });
    expect(listing).toMatchObject({ complete: true, pages: 3, error: null });
    expect(listing.snapshots.map((s) => s.DBSnapshotIdentifier)).toEqual(['a', 'b', 'c', 'd']);
    expect(mock.commandCalls(DescribeDBSnapshotsCommand).map((c) => c.args[0].input.Marker)).toEqual([
      undefined,
      'page-2',
      'page-3',
    ]);
  });

  it('retries a throttled page from the same marker with growing back-off', async () => {
    const rds = new RDSClient(clientConfig('http://127.0.0.1:9', SOURCE_REGION));
    const mock = mockClient(rds);
    mock
      .on(DescribeDBSnapshotsCommand)
      .resolvesOnce({ DBSnapshots: [snapshot('a', 's')], Marker: 'page-2' })
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolvesOnce({ DBSnapshots: [snapshot('b', 's')] });
    const { delays, retry } = recordingSleep();
    const listing = await listManualSnapshots(rds, SOURCE_REGION, { retry });
    expect(listing).toMatchObject({ complete: true, pages: 2 });
    expect(listing.snapshots.map((s) => s.DBSnapshotIdentifier)).toEqual(['a', 'b']);
    expect(mock.commandCalls(DescribeDBSnapshotsCommand).map((c) => c.args[0].input.Marker)).toEqual([
      undefined,
      'page-2',
      'page-2',
      'page-2',
    ]);
    expect(delays).toEqual([100, 200]);
  });

  it('reports an incomplete listing when throttling outlasts the retries', async () => {
    const rds = new RDSClient(clientConfig('http://127.0.0.1:9', SOURCE_REGION));
    mockClient(rds).on(DescribeDBSnapshotsCommand).rejects(throttled());
    const { retry } = recordingSleep();
    const listing = await listManualSnapshots(rds, SOURCE_REGION, { retry });
    expect(listing.complete).toBe(false);
    expect(listing.error).toBe(
      'DescribeDBSnapshots failed on page 1 after 4 tries: ThrottlingException: Rate exceeded',
    );
  });

  it('deletes nothing anywhere and escalates PRUNE_BLOCKED when a listing fails half-way', async () => {
    const { source, inbox, bucket, deps, rec } = await setup();
    const broken = new RDSClient(clientConfig('http://127.0.0.1:9', SOURCE_REGION));
    const mock = mockClient(broken);
    mock
      .on(DescribeDBSnapshotsCommand)
      .resolvesOnce({ DBSnapshots: [snapshot(`rd-${source}-m1`, source)], Marker: 'page-2' })
      .rejectsOnce(Object.assign(new Error('User is not authorized'), { name: 'AccessDenied' }));
    const copyBefore = await ids(aws.clients.copyRds, source);
    const report = await runPrune({}, { ...deps, sourceRds: broken });
    expect(report.blocked).toContain(`snapshot listing incomplete in ${SOURCE_REGION}`);
    expect(report.locations.map((l) => l.plan.delete)).toEqual([[], []]);
    expect(mock.commandCalls(DeleteDBSnapshotCommand)).toHaveLength(0);
    expect(await ids(aws.clients.copyRds, source)).toEqual(copyBefore);
    const messages = await inbox.drain();
    expect(messages.map((m) => [m.attributes.class, m.attributes.severity])).toEqual([
      ['PRUNE_BLOCKED', 'warning'],
    ]);
    expect(messages[0]?.body.message).toContain('AccessDenied: User is not authorized');
    expect(await readJson(bucket, report.planKey)).toMatchObject({ blocked: report.blocked });
    expect(rec.metric('PruneBlocked')).toEqual([1]);
  });
});
