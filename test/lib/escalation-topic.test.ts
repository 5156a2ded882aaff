import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type Config, ConfigError } from '../../functions/core/config.ts';
import { EscalationTopic } from '../../lib/escalation-topic.ts';
import { configDefaults } from '../../lib/props.ts';
import { makeApp, refusalOf } from './fixtures.ts';

/** The topic built from the schema's `notifications` defaults with `notifications` laid over them. */
function templateOf(notifications: Partial<Config['notifications']> = {}): Template {
  const stack = new Stack(makeApp(), 'Test', { env: { region: 'eu-west-1' } });
  const config = { notifications: { ...configDefaults('notifications').notifications, ...notifications } };
  new EscalationTopic(stack, 'Escalation', { config });
  return Template.fromStack(stack);
}

/** A bad `notifications` value: refused with its config path. */
function refusal(notifications: Partial<Config['notifications']>): ConfigError {
  return refusalOf(ConfigError, () => templateOf(notifications));
}

describe('escalation topic', () => {
  it('encrypts the topic with its own rotated KMS key', () => {
    const template = templateOf();
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
  });

  it('lets CloudWatch alarms use the key, so an alarm on the failure queue can publish', () => {
    templateOf().hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
  });

  it('denies publishing without TLS', () => {
    templateOf().hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('subscribes each configured email address', () => {
    const template = templateOf({ emails: ['a@example.com', 'b@example.com'] });
    template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'email' }, 2);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'b@example.com',
    });
  });

  it('subscribes the webhook over HTTPS when one is configured', () => {
    templateOf({ webhookUrl: 'https://hooks.example.com/recovery' }).hasResourceProperties(
      'AWS::SNS::Subscription',
      {
        Protocol: 'https',
        Endpoint: 'https://hooks.example.com/recovery',
      },
    );
  });

  it('creates no subscription and no Slack channel when nothing is configured', () => {
    const template = templateOf();
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
  });

  it('sends escalations to Slack through AWS Chatbot when a workspace and channel are configured', () => {
    const template = templateOf({ slack: { workspaceId: 'T0123ABCDE', channelId: 'C0123ABCDE' } });
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0];
    template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123ABCDE',
      SlackChannelId: 'C0123ABCDE',
      SnsTopicArns: [{ Ref: topicId }],
    });
  });

  it('fails when an email address is malformed, naming its index', () => {
    const error = refusal({ emails: ['oncall@example.com', 'not-an-email'] });
    expect(error.problems[0]?.path).toBe('notifications.emails[1]');
    expect(error.message).toContain('"not-an-email"');
  });

  it('fails when the webhook is not https', () => {
    const error = refusal({ webhookUrl: 'http://hooks.example.com/recovery' });
    expect(error.problems[0]?.path).toBe('notifications.webhookUrl');
    expect(error.message).toContain('http://hooks.example.com/recovery');
  });

  it('fails when the Slack channel id is malformed', () => {
    const error = refusal({ slack: { workspaceId: 'T0123ABCDE', channelId: '#on-call' } });
    expect(error.problems[0]?.path).toBe('notifications.slack.channelId');
    expect(error.message).toContain('"#on-call"');
  });

  it('fails when the Slack workspace id is malformed', () => {
    expect(refusal({ slack: { workspaceId: 'acme', channelId: 'C0123ABCDE' } }).problems[0]?.path).toBe(
      'notifications.slack.workspaceId',
    );
  });
});
