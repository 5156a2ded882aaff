import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type PublishCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { createEscalation } from '../../../../functions/core/escalations.ts';
import {
  escalateFolded,
  type FoldingTarget,
  MAX_SUBJECT_LENGTH,
  publishEscalation,
  resolveFolded,
  type SnsApi,
  subjectLine,
} from '../../../../functions/shared/aws/notify.ts';
import { readyFailureReport } from '../../../support/ready-failure.ts';
import {
  createStateTable,
  createTopicWithInbox,
  type SnsMessage,
  uniqueId,
  useMotoClients,
} from '../../fixtures.ts';

const aws = useMotoClients();

const at = (minute: number) => new Date(Date.UTC(2026, 10, 26, 3, minute));

/** The moto client, with every publish request kept so a test can read the per-protocol bodies SQS never sees. */
function keepingPublishes(sns: SnsApi) {
  const published: PublishCommand['input'][] = [];
  const client: SnsApi = {
    send: ((command: PublishCommand) => {
      published.push(command.input);
      return sns.send(command);
    }) as SnsApi['send'],
  };
  return { client, published };
}

/** A topic with its inbox and an incident table: what folding needs, read back from SQS. */
async function foldingTarget(): Promise<FoldingTarget & { drain: () => Promise<SnsMessage[]> }> {
  const inbox = await createTopicWithInbox(aws.clients);
  const table = await createStateTable(aws.clients.ddb);
  return {
    sns: aws.clients.sns,
    ddb: aws.clients.ddb,
    topicArn: inbox.topicArn,
    table,
    environment: 'production',
    drain: () => inbox.drain(),
  };
}

describe('escalation notices', () => {
  it('publishes class and severity as message attributes and the escalation as JSON', async () => {
    const inbox = await createTopicWithInbox(aws.clients);
    const escalation = createEscalation(
      'PRUNE_BLOCKED',
      'prune/btcts/2026-11-26T04:30:00.000Z',
      'listing incomplete',
      {
        region: 'eu-west-1',
      },
    );
    await publishEscalation(aws.clients.sns, inbox.topicArn, 'production', escalation, {
      source: 'bt-cts-prod',
    });
    const [message, ...rest] = await inbox.drain();
    expect(rest).toEqual([]);
    expect(message?.subject).toBe(
      '[WARNING] PRUNE_BLOCKED · production · bt-cts-prod · prune/btcts/2026-11-26T04:30:00.000Z',
    );
    expect(message?.attributes).toEqual({
      class: 'PRUNE_BLOCKED',
      severity: 'warning',
      environment: 'production',
      kind: 'escalation',
    });
    expect(message?.body).toMatchObject({
      ...escalation,
      kind: 'escalation',
      environment: 'production',
      source: 'bt-cts-prod',
    });
  });

  it('names severity, class, environment and the job in the subject even without a source', async () => {
    const inbox = await createTopicWithInbox(aws.clients);
    const escalation = createEscalation('PRUNE_BLOCKED', 'prune/btcts/2026-11-26', 'listing incomplete');
    await publishEscalation(aws.clients.sns, inbox.topicArn, 'production', escalation);
    const [message] = await inbox.drain();
    expect(message?.subject).toBe('[WARNING] PRUNE_BLOCKED · production · prune/btcts/2026-11-26');
    expect(message?.attributes.class).toBe('PRUNE_BLOCKED');
  });

  it('sends email the text and HTTPS subscribers (AWS Chatbot) the custom-notification JSON', async () => {
    const inbox = await createTopicWithInbox(aws.clients);
    const { client, published } = keepingPublishes(aws.clients.sns);
    // The escalation of a real readiness failure (a server answering 503), not one written here.
    const [escalation] = (await readyFailureReport({ drillId: 'drill-1' })).escalations;
    if (!escalation) throw new Error('the failed readiness check raised no escalation');
    await publishEscalation(client, inbox.topicArn, 'production', escalation, {
      source: 'bt-cts-prod',
      links: { report: 's3://b/reports/drill-1/report.md' },
    });
    expect(published).toHaveLength(1);
    expect(published[0]?.MessageStructure).toBe('json');
    const bodies = JSON.parse(published[0]?.Message ?? '{}') as Record<string, string>;
    expect(Object.keys(bodies).sort()).toEqual(['default', 'email', 'https']);
    expect(bodies.email).toContain('CRITICAL READY_NOT_OK: API not ready after restore');
    expect(bodies.email).toContain('smoke-ready.status: 503');
    expect(bodies.email).toContain('Report: s3://b/reports/drill-1/report.md');
    expect(JSON.parse(bodies.https ?? '{}')).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown', keywords: ['READY_NOT_OK', 'critical', 'production'] },
    });
    expect((await inbox.drain()).map((m) => m.body.kind)).toEqual(['escalation']);
  });

  it('lets a subscription filter on severity: only critical reaches the pager queue', async () => {
    const inbox = await createTopicWithInbox(aws.clients);
    const name = uniqueId('pager');
    const queue = await aws.clients.sqs.send(new CreateQueueCommand({ QueueName: name }));
    const attrs = await aws.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await aws.clients.sns.send(
      new SubscribeCommand({
        TopicArn: inbox.topicArn,
        Protocol: 'sqs',
        Endpoint: attrs.Attributes?.QueueArn,
        Attributes: { FilterPolicy: JSON.stringify({ severity: ['critical'] }) },
      }),
    );
    for (const cls of ['PRUNE_BLOCKED', 'RESTORE_FAILED', 'SMOKE_FAILED'] as const)
      await publishEscalation(
        aws.clients.sns,
        inbox.topicArn,
        'production',
        createEscalation(cls, 'drill-2', 'x'),
        {},
      );
    const paged = await aws.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10 }),
    );
    const classes = (paged.Messages ?? []).map(
      (m) =>
        (JSON.parse(m.Body ?? '{}') as { MessageAttributes: { class: { Value: string } } }).MessageAttributes
          .class.Value,
    );
    expect(classes).toEqual(['RESTORE_FAILED']);
    expect(await inbox.drain()).toHaveLength(3);
  });

  it('never publishes a password or a bearer token from an error message', async () => {
    const inbox = await createTopicWithInbox(aws.clients);
    const { client, published } = keepingPublishes(aws.clients.sns);
    const escalation = createEscalation(
      'BACKUP_FAILED',
      'snapshot/btcts/2026-11-26',
      'connect failed: postgres://u:secret@h/db',
      { detail: 'password=S3cret-pw', request: 'Authorization: Bearer abc.def.ghi' },
    );
    await publishEscalation(client, inbox.topicArn, 'production', escalation, {});
    const [message] = await inbox.drain();
    const everything = JSON.stringify(published);
    for (const text of [message?.message ?? '', everything]) {
      expect(text).not.toContain('u:secret@');
      expect(text).not.toContain('S3cret-pw');
      expect(text).not.toContain('abc.def.ghi');
    }
    expect(message?.message).toContain('postgres://u:***@h/db');
  });

  it('keeps subjects under the SNS limit and free of line breaks', () => {
    const subject = subjectLine(`[production] CRITICAL BACKUP_STALE:\n${'x'.repeat(200)}`);
    expect(subject).toHaveLength(MAX_SUBJECT_LENGTH);
    expect(subject).toMatch(/^\[production\] CRITICAL BACKUP_STALE: x+\.\.\.$/);
    expect(subjectLine('short\tsubject')).toBe('short subject');
  });
});

describe('folded escalations', () => {
  it('publishes an open incident once, counts the repeats and announces the resolution with the count', async () => {
    const target = await foldingTarget();
    const stale = () =>
      createEscalation('BACKUP_STALE', 'rpo-monitor/x', 'restorable-time lag 90 min over 60 min');
    const first = await escalateFolded(target, 'bt-cts-prod', stale(), at(0));
    const second = await escalateFolded(target, 'bt-cts-prod', stale(), at(15));
    const third = await escalateFolded(target, 'bt-cts-prod', stale(), at(30));
    expect([first.published, second.published, third.published]).toEqual([true, false, false]);
    expect(third.observations).toBe(3);
    const opened = await target.drain();
    expect(opened.map((m) => m.subject)).toEqual([
      '[CRITICAL] BACKUP_STALE · production · bt-cts-prod · rpo-monitor/x',
    ]);

    const resolution = {
      class: 'BACKUP_STALE' as const,
      id: 'rpo-monitor/y',
      message: 'lag back to 3 min',
      evidence: { lagMinutes: 3 },
    };
    expect(await resolveFolded(target, 'bt-cts-prod', resolution, at(45))).toBe(true);
    const [resolved, ...none] = await target.drain();
    expect(none).toEqual([]);
    expect(resolved?.attributes).toMatchObject({
      class: 'BACKUP_STALE',
      severity: 'info',
      kind: 'resolution',
    });
    expect(resolved?.body.occurrences).toEqual({ count: 3, since: at(0).toISOString() });
    expect(await resolveFolded(target, 'bt-cts-prod', resolution, at(60))).toBe(false);
    expect(await target.drain()).toEqual([]);
  });

  it('keeps incidents of other classes and other subjects apart', async () => {
    const target = await foldingTarget();
    await escalateFolded(target, 'bt-cts-prod', createEscalation('BACKUP_STALE', 'a', 'lag'), at(0));
    await escalateFolded(target, 'bt-cts-staging', createEscalation('BACKUP_STALE', 'b', 'lag'), at(0));
    await escalateFolded(target, 'bt-cts-prod', createEscalation('BACKUP_FAILED', 'c', 'copy failed'), at(0));
    const subjects = (await target.drain()).map((m) => m.subject).sort();
    expect(subjects).toEqual([
      '[CRITICAL] BACKUP_STALE · production · bt-cts-prod · a',
      '[CRITICAL] BACKUP_STALE · production · bt-cts-staging · b',
      '[HIGH] BACKUP_FAILED · production · bt-cts-prod · c',
    ]);
  });

  it('stores no password in the incident table', async () => {
    const target = await foldingTarget();
    // Built by hand, not by createEscalation: what skipped its redaction must still be masked.
    const escalation = {
      ...createEscalation('BACKUP_FAILED', 'snapshot/1', 'x'),
      message: 'copy failed: postgres://u:S3cret-pw@h/db',
    };
    await escalateFolded(target, 'bt-cts-prod', escalation, at(0));
    const item = await aws.clients.ddb.send(
      new GetItemCommand({
        TableName: target.table,
        Key: { pk: { S: 'incident#BACKUP_FAILED#bt-cts-prod' } },
      }),
    );
    expect(item.Item?.summary?.S).toBe('copy failed: postgres://u:***@h/db');
    expect(JSON.stringify(await target.drain())).not.toContain('S3cret-pw');
  });

  it('says nothing when an incident nobody was told about clears', async () => {
    const target = await foldingTarget();
    const resolution = { class: 'BACKUP_STALE' as const, id: 'z', message: 'fresh', evidence: {} };
    expect(await resolveFolded(target, 'bt-cts-prod', resolution, at(0))).toBe(false);
    expect(await target.drain()).toEqual([]);
  });
});
