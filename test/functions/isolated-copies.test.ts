/**
 * The isolation account's job: copy what the source account shares into snapshots it owns, and
 * keep them by the retention planner.
 *
 * moto_server (two accounts: the default one as the source, a second reached through STS
 * AssumeRole) answers the listing of shared snapshots across accounts, the snapshot tags and the
 * idempotent path. moto does not implement a cross-account `CopyDBSnapshot` (it looks the source
 * ARN up in the caller's own account) and cannot date a snapshot in the past, so the copy, the
 * per-run cap and retention over weeks of snapshots run against an SDK client mock
 * (aws-sdk-client-mock) of the same RDS calls.
 */
import {
  CopyDBSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  type DBSnapshot,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBSnapshotAttributeCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { MANAGED_TAG, SOURCE_TAG } from '../../functions/core/contracts.ts';
import { snapshotIdFor } from '../../functions/core/snapshot-naming.ts';
import type { IsolatedCopiesEnv } from '../../functions/shared/env.ts';
import {
  COPIED_FROM_TAG,
  type IsolatedCopiesDeps,
  MAX_COPIES_PER_RUN,
  runIsolatedCopies,
} from '../../functions/shared/jobs/isolated-copies.ts';
import { MOTO_ACCOUNT_ID } from '../support/moto.ts';
import { COPY_REGION, clientConfig, recorder, SOURCE_REGION, uniqueId, useMotoClients } from './fixtures.ts';

const aws = useMotoClients();
const COPY_ACCOUNT = '210987654321';
const OTHER_ACCOUNT = '555555555555';
const DAY = 86_400_000;

function envFor(source: string, overrides: Partial<IsolatedCopiesEnv> = {}): IsolatedCopiesEnv {
  return {
    environment: 'test',
    topicArn: `arn:aws:sns:${COPY_REGION}:${COPY_ACCOUNT}:escalations`,
    sourceDbInstanceId: source,
    sourceRegion: SOURCE_REGION,
    copyRegion: COPY_REGION,
    sourceAccountId: MOTO_ACCOUNT_ID,
    kmsKeyArn: `arn:aws:kms:${COPY_REGION}:${COPY_ACCOUNT}:key/11111111-2222-3333-4444-555555555555`,
    retentionDaily: 7,
    retentionMonthly: 2,
    maxDeletionsPerRun: 20,
    dryRun: false,
    ...overrides,
  };
}

/** Credentials of another moto account, through STS AssumeRole (moto maps them to that account). */
async function accountClient(account: string): Promise<RDSClient> {
  const body = new URLSearchParams({
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: `arn:aws:iam::${account}:role/recovery-drill-test`,
    RoleSessionName: 'test',
  });
  const response = await fetch(`${aws.moto.endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20261201/${COPY_REGION}/sts/aws4_request, SignedHeaders=host, Signature=x`,
    },
    body,
  });
  const xml = await response.text();
  const field = (name: string) => new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)?.[1] ?? '';
  return new RDSClient({
    endpoint: aws.moto.endpoint,
    region: COPY_REGION,
    credentials: {
      accessKeyId: field('AccessKeyId'),
      secretAccessKey: field('SecretAccessKey'),
      sessionToken: field('SessionToken'),
    },
  });
}

async function createInstance(rds: RDSClient, id: string) {
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      Engine: 'postgres',
      DBInstanceClass: 'db.t4g.micro',
      AllocatedStorage: 20,
      MasterUsername: 'app',
      MasterUserPassword: 'not-a-real-password',
    }),
  );
}

describe('isolated copies against moto (two accounts)', () => {
  it('adopts only what the source account shares, and leaves an existing own copy as it is', async () => {
    const source = uniqueId();
    const id = snapshotIdFor(source, '2026-11-30');
    const managed = [
      { Key: MANAGED_TAG, Value: 'true' },
      { Key: SOURCE_TAG, Value: source },
    ];
    // The source account's copy in the copy region, shared with the isolation account.
    const sourceAccount = new RDSClient(clientConfig(aws.moto.endpoint, COPY_REGION));
    await createInstance(sourceAccount, source);
    await sourceAccount.send(
      new CreateDBSnapshotCommand({ DBInstanceIdentifier: source, DBSnapshotIdentifier: id, Tags: managed }),
    );
    await sourceAccount.send(
      new ModifyDBSnapshotAttributeCommand({
        DBSnapshotIdentifier: id,
        AttributeName: 'restore',
        ValuesToAdd: [COPY_ACCOUNT],
      }),
    );
    // Another account shares a snapshot named like ours: never adopted.
    const other = await accountClient(OTHER_ACCOUNT);
    await createInstance(other, source);
    const lookalike = snapshotIdFor(source, '2026-11-29');
    await other.send(
      new CreateDBSnapshotCommand({ DBInstanceIdentifier: source, DBSnapshotIdentifier: lookalike }),
    );
    await other.send(
      new ModifyDBSnapshotAttributeCommand({
        DBSnapshotIdentifier: lookalike,
        AttributeName: 'restore',
        ValuesToAdd: [COPY_ACCOUNT],
      }),
    );
    // The isolation account already owns its copy of `id` (an earlier run).
    const copyAccount = await accountClient(COPY_ACCOUNT);
    await createInstance(copyAccount, source);
    await copyAccount.send(
      new CreateDBSnapshotCommand({ DBInstanceIdentifier: source, DBSnapshotIdentifier: id, Tags: managed }),
    );

    const rec = recorder();
    const result = await runIsolatedCopies(
      {},
      {
        env: envFor(source),
        rds: copyAccount,
        sns: { send: () => Promise.reject(new Error('no escalation expected')) },
        logger: rec.logger,
        metrics: rec.metricsSink,
      },
    );
    expect(result.shared).toEqual([id]);
    expect(result.copied).toEqual([]);
    expect(result.deleted).toEqual([]);
    expect(result.plan.keep.map((k) => k.id)).toEqual([id]);
    expect(result.newestCopyAgeMinutes).not.toBeNull();
    const own = await copyAccount.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }));
    expect(own.DBSnapshots?.[0]?.DBSnapshotArn).toContain(`:${COPY_ACCOUNT}:snapshot:${id}`);
  });
});

describe('isolated copies against a mocked RDS (cross-account copy, dates in the past)', () => {
  const now = new Date('2026-12-01T06:00:00Z');
  const source = 'bt-cts-prod';
  const dayOf = (daysAgo: number) => new Date(now.getTime() - daysAgo * DAY).toISOString().slice(0, 10);
  const sharedSnapshot = (daysAgo: number, account = MOTO_ACCOUNT_ID): DBSnapshot => {
    const id = snapshotIdFor(source, dayOf(daysAgo));
    return {
      DBSnapshotIdentifier: id,
      DBSnapshotArn: `arn:aws:rds:${COPY_REGION}:${account}:snapshot:${id}`,
      SnapshotType: 'shared',
      Status: 'available',
      OriginalSnapshotCreateTime: new Date(now.getTime() - daysAgo * DAY - 3 * 3_600_000),
      SnapshotCreateTime: new Date(now.getTime() - daysAgo * DAY),
    };
  };
  const ownCopy = (daysAgo: number): DBSnapshot => {
    const id = snapshotIdFor(source, dayOf(daysAgo));
    return {
      DBSnapshotIdentifier: id,
      DBSnapshotArn: `arn:aws:rds:${COPY_REGION}:${COPY_ACCOUNT}:snapshot:${id}`,
      SnapshotType: 'manual',
      Status: 'available',
      OriginalSnapshotCreateTime: new Date(now.getTime() - daysAgo * DAY - 3 * 3_600_000),
      SnapshotCreateTime: new Date(now.getTime() - daysAgo * DAY + 3_600_000),
      TagList: [
        { Key: MANAGED_TAG, Value: 'true' },
        { Key: SOURCE_TAG, Value: source },
      ],
    };
  };

  function mocked(shared: DBSnapshot[], owned: DBSnapshot[]) {
    const client = new RDSClient(clientConfig('http://127.0.0.1:9', COPY_REGION));
    const mock = mockClient(client);
    mock
      .on(DescribeDBSnapshotsCommand)
      .callsFake((input: { SnapshotType?: string; DBSnapshotIdentifier?: string }) => {
        if (input.DBSnapshotIdentifier) {
          const found = owned.find((s) => s.DBSnapshotIdentifier === input.DBSnapshotIdentifier);
          if (!found) throw Object.assign(new Error('not found'), { name: 'DBSnapshotNotFoundFault' });
          return { DBSnapshots: [found] };
        }
        return { DBSnapshots: input.SnapshotType === 'shared' ? shared : owned };
      });
    mock.on(CopyDBSnapshotCommand).callsFake(() => ({ DBSnapshot: { Status: 'creating' } }));
    mock.on(DeleteDBSnapshotCommand).resolves({});
    const rec = recorder();
    const deps = (env: Partial<IsolatedCopiesEnv> = {}): IsolatedCopiesDeps => ({
      env: envFor(source, env),
      rds: client,
      sns: { send: () => Promise.reject(new Error('no escalation expected')) },
      logger: rec.logger,
      metrics: rec.metricsSink,
      now: () => now,
    });
    return { mock, deps, rec };
  }

  it('copies, newest first and at most the cap, only what retention keeps, with its own key and tags', async () => {
    // 40 days shared; 7 daily + 2 monthly kept (the 1st of Nov and Dec are monthly points).
    const shared = [
      ...Array.from({ length: 40 }, (_, i) => sharedSnapshot(i)),
      sharedSnapshot(0, OTHER_ACCOUNT),
    ];
    const { mock, deps } = mocked(shared, []);
    const result = await runIsolatedCopies({}, deps());
    const keptIds = result.plan.keep.map((k) => k.id);
    expect(keptIds).toHaveLength(8); // 7 days (1 Dec is also the December monthly) + 1 Nov
    expect(result.copied).toEqual([0, 1, 2, 3, 4].map((d) => snapshotIdFor(source, dayOf(d))));
    expect(result.waiting).toHaveLength(keptIds.length - MAX_COPIES_PER_RUN);
    const copies = mock.commandCalls(CopyDBSnapshotCommand).map((c) => c.args[0].input);
    expect(copies).toHaveLength(MAX_COPIES_PER_RUN);
    expect(copies[0]).toEqual({
      SourceDBSnapshotIdentifier: `arn:aws:rds:${COPY_REGION}:${MOTO_ACCOUNT_ID}:snapshot:${snapshotIdFor(source, dayOf(0))}`,
      TargetDBSnapshotIdentifier: snapshotIdFor(source, dayOf(0)),
      KmsKeyId: envFor(source).kmsKeyArn,
      Tags: [
        { Key: MANAGED_TAG, Value: 'true' },
        { Key: SOURCE_TAG, Value: source },
        { Key: COPIED_FROM_TAG, Value: copies[0]?.SourceDBSnapshotIdentifier },
      ],
    });
    expect(copies.every((c) => String(c.SourceDBSnapshotIdentifier).includes(`:${MOTO_ACCOUNT_ID}:`))).toBe(
      true,
    );
    expect(mock.commandCalls(DeleteDBSnapshotCommand)).toEqual([]);
  });

  it('deletes own copies the plan drops, never a shared one, and nothing in a dry run', async () => {
    const owned = Array.from({ length: 12 }, (_, i) => ownCopy(i));
    const shared = Array.from({ length: 12 }, (_, i) => sharedSnapshot(i));
    const first = mocked(shared, owned);
    const result = await runIsolatedCopies({}, first.deps());
    expect(result.copied).toEqual([]);
    // Days 0-6 are the daily points; day 11 (20 November, the month's earliest) is November's monthly one.
    const expected = [10, 9, 8, 7].map((d) => snapshotIdFor(source, dayOf(d)));
    expect([...result.deleted].sort()).toEqual(expected.sort());
    expect(
      first.mock
        .commandCalls(DeleteDBSnapshotCommand)
        .every((c) => !String(c.args[0].input.DBSnapshotIdentifier).includes(':')),
    ).toBe(true);

    const dry = mocked(shared, owned);
    const dryResult = await runIsolatedCopies({}, dry.deps({ dryRun: true }));
    expect(dryResult.deleted).toEqual([]);
    expect(dry.mock.commandCalls(DeleteDBSnapshotCommand)).toEqual([]);
    expect(dry.mock.commandCalls(CopyDBSnapshotCommand)).toEqual([]);
  });

  it('escalates a failed listing on its own topic and copies nothing', async () => {
    const client = new RDSClient(clientConfig('http://127.0.0.1:9', COPY_REGION));
    const mock = mockClient(client);
    mock.on(DescribeDBSnapshotsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    const published: unknown[] = [];
    const rec = recorder();
    await expect(
      runIsolatedCopies(
        {},
        {
          env: envFor(source),
          rds: client,
          sns: { send: (command: unknown) => Promise.resolve(published.push(command)) } as never,
          logger: rec.logger,
          metrics: rec.metricsSink,
          now: () => now,
        },
      ),
    ).rejects.toThrow(/could not list the snapshots shared with this account/);
    expect(published).toHaveLength(1);
    expect(mock.commandCalls(CopyDBSnapshotCommand)).toEqual([]);
    expect(rec.metricWith('JobFailed', { job: 'isolated-copies' })).toEqual([1]);
  });
});
