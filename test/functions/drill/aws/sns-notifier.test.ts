import { CreateTopicCommand, type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsNotifier, SUMMARY_CLASS } from '../../../../functions/drill/aws/sns-notifier.ts';
import { type Moto, startMoto } from '../../../support/moto.ts';
import { drillReport, motoClients } from './support.ts';

interface Delivered {
  Subject?: string;
  Message: string;
  MessageAttributes?: Record<string, { Value: string }>;
}

describe('drill notifier on SNS against moto', () => {
  let moto: Moto;
  let sns: SNSClient;
  let sqs: SQSClient;

  beforeAll(async () => {
    moto = await startMoto();
    ({ sns, sqs } = motoClients(moto.endpoint));
  });
  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
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
});
