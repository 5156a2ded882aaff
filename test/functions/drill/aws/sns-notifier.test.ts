import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsNotifier, SUMMARY_CLASS } from '../../../../functions/drill/adapters/aws/sns-notifier.ts';
import { MOTO_CREDENTIALS, type Moto, startMoto } from '../../../support/moto.ts';
import { drillReport, motoClients, REGION } from './support.ts';

const EXECUTION_ARN = (drillId: string) =>
  `arn:aws:states:eu-west-1:123456789012:execution:recovery-drill:${drillId}`;

interface Delivered {
  Subject?: string;
  Message: string;
  MessageAttributes?: Record<string, { Value: string }>;
}

describe('drill notifier on SNS against moto', () => {
  let moto: Moto;
  let sns: SNSClient;
  let sqs: SQSClient;
  let ddb: DynamoDBClient;

  beforeAll(async () => {
    moto = await startMoto();
    ({ sns, sqs } = motoClients(moto.endpoint));
    ddb = new DynamoDBClient({ endpoint: moto.endpoint, region: REGION, credentials: MOTO_CREDENTIALS });
  });
  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
    ddb?.destroy();
    await moto?.stop();
  });

  /** A topic with an SQS subscription: SNS messages are read back from the queue. */
  async function topicWithQueue(name: string) {
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: name }))).TopicArn as string;
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-q` }))).QueueUrl as string;
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: attrs.Attributes?.QueueArn }),
    );
    const receive = async (): Promise<Delivered[]> => {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      return (out.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}') as Delivered);
    };
    return { topicArn, receive };
  }

  it('publishes one message per escalation with class and severity, then one summary', async () => {
    const { topicArn, receive } = await topicWithQueue('failed-drill');
    const report = drillReport('d-failed', { failedStep: 'integrity' });
    expect(report.escalations.map((e) => e.class)).toEqual(['INTEGRITY_FAILED']);
    const count = await new SnsNotifier(
      sns,
      topicArn,
      'test',
      () => 's3://b/reports/d-failed/report.md',
    ).publish(report, report.escalations);
    expect(count).toBe(2);
    const messages = await receive();
    expect(messages).toHaveLength(2);
    const escalation = messages.find((m) => m.MessageAttributes?.class?.Value === 'INTEGRITY_FAILED');
    expect(escalation?.MessageAttributes?.severity?.Value).toBe(report.escalations[0]?.severity);
    expect(escalation?.Subject).toContain('INTEGRITY_FAILED');
    const summary = messages.find((m) => m.MessageAttributes?.class?.Value === SUMMARY_CLASS);
    expect(summary?.Subject).toBe('[test] Recovery drill d-failed FAILED');
    expect(summary?.MessageAttributes?.severity?.Value).toBe(report.escalations[0]?.severity);
    expect(JSON.parse(summary?.Message ?? '{}')).toMatchObject({
      kind: 'summary',
      drillId: 'd-failed',
      passed: false,
      escalations: ['INTEGRITY_FAILED'],
    });
  });

  it('publishes only the summary for a drill that passed', async () => {
    const { topicArn, receive } = await topicWithQueue('passed-drill');
    const report = drillReport('d-passed');
    const count = await new SnsNotifier(sns, topicArn, 'test').publish(report, report.escalations);
    expect(count).toBe(1);
    const messages = await receive();
    expect(messages.map((m) => m.MessageAttributes?.class?.Value)).toEqual([SUMMARY_CLASS]);
    expect(messages[0]?.MessageAttributes?.severity?.Value).toBe('info');
  });

  /** The incident table of the stack: partition key `pk`. */
  async function incidentTable(name: string): Promise<string> {
    await ddb.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    return name;
  }

  it('names the source and links the execution and the report in every escalation', async () => {
    const { topicArn, receive } = await topicWithQueue('linked-drill');
    const report = drillReport('d-linked', { failedStep: 'integrity' });
    await new SnsNotifier(sns, topicArn, 'test', () => 's3://b/reports/d-linked/report.md', {
      source: 'bt-cts-prod',
      executionArn: EXECUTION_ARN,
    }).publish(report, report.escalations);
    const escalation = (await receive()).find(
      (m) => m.MessageAttributes?.class?.Value === 'INTEGRITY_FAILED',
    );
    expect(escalation?.Subject).toBe('[CRITICAL] INTEGRITY_FAILED · test · bt-cts-prod · d-linked');
    const body = JSON.parse(escalation?.Message ?? '{}') as {
      links: Record<string, string>;
      message: string;
    };
    expect(body.links).toEqual({
      Execution: `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION_ARN('d-linked')}`,
      Report: 's3://b/reports/d-linked/report.md',
      'Report (console)':
        'https://s3.console.aws.amazon.com/s3/object/b?prefix=reports%2Fd-linked%2Freport.md',
    });
    expect(body.message).toContain('has 3 orphaned rows');
  });

  it('links the execution the notify step passes and the log group it is given', async () => {
    const { topicArn, receive } = await topicWithQueue('linked-by-step');
    const report = drillReport('d-step', { failedStep: 'integrity' });
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:Drill:d-step';
    await new SnsNotifier(sns, topicArn, 'test', () => null, { logs: 'https://logs.example/drill' }).publish(
      report,
      report.escalations,
      { executionArn: arn },
    );
    const escalation = (await receive()).find(
      (m) => m.MessageAttributes?.class?.Value === 'INTEGRITY_FAILED',
    );
    const body = JSON.parse(escalation?.Message ?? '{}') as { links: Record<string, string> };
    expect(body.links.Execution).toContain(arn);
    expect(Object.values(body.links)).toContain('https://logs.example/drill');
  });

  it('folds a class that keeps failing drill after drill and resolves it when a drill passes', async () => {
    const { topicArn, receive } = await topicWithQueue('folded-drills');
    const table = await incidentTable('folded-drills-state');
    const days = [0, 1, 2, 3].map((d) => new Date(Date.UTC(2026, 10, 26 + d, 3)));
    const notifier = (day: number) =>
      new SnsNotifier(sns, topicArn, 'test', () => null, {
        source: 'bt-cts-prod',
        folding: { ddb, table, subjectKey: 'quarterly' },
        now: () => days[day] as Date,
      });
    const failed = (id: string) => drillReport(id, { failedStep: 'integrity' });
    expect(await notifier(0).publish(failed('d-1'), failed('d-1').escalations)).toBe(2);
    expect(await notifier(1).publish(failed('d-2'), failed('d-2').escalations)).toBe(1);
    const afterFailures = await receive();
    expect(
      afterFailures.filter((m) => m.MessageAttributes?.class?.Value === 'INTEGRITY_FAILED'),
    ).toHaveLength(1);
    expect(afterFailures.filter((m) => m.MessageAttributes?.class?.Value === SUMMARY_CLASS)).toHaveLength(2);

    const passed = drillReport('d-3');
    expect(await notifier(2).publish(passed, passed.escalations)).toBe(2);
    const afterPass = await receive();
    const resolved = afterPass.find((m) => m.MessageAttributes?.kind?.Value === 'resolution');
    expect(resolved?.MessageAttributes?.class?.Value).toBe('INTEGRITY_FAILED');
    expect(resolved?.MessageAttributes?.severity?.Value).toBe('info');
    expect(JSON.parse(resolved?.Message ?? '{}')).toMatchObject({
      occurrences: { count: 2, since: days[0]?.toISOString() },
    });

    expect(await notifier(3).publish(failed('d-4'), failed('d-4').escalations)).toBe(2);
  });
});
