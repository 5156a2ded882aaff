/**
 * Where every escalation goes (`BACKUP_FAILED`, `BACKUP_STALE`, `PRUNE_BLOCKED`, and the drill's
 * classes later): one SNS topic, encrypted with its own key, that fans out to on-call by email,
 * Slack (AWS Chatbot) and an HTTPS webhook. One topic so that nothing can escalate "somewhere
 * else" that nobody reads.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { checkPattern, withDefaults } from './props.ts';

export interface SlackChannel {
  /** Slack workspace (team) id, e.g. `T0123ABCD`, already authorised in the AWS Chatbot console. */
  readonly workspaceId: string;
  /** Slack channel id, e.g. `C0123ABCD`. */
  readonly channelId: string;
}

export interface EscalationTopicProps {
  /**
   * Email addresses subscribed to the topic (each must confirm the subscription once).
   * @default - no email subscription
   */
  readonly emails?: readonly string[];
  /**
   * Slack channel that receives the escalations through AWS Chatbot.
   * @default - no Slack channel
   */
  readonly slack?: SlackChannel;
  /**
   * HTTPS endpoint subscribed to the topic (for a pager or an incident tool).
   * @default - no webhook
   */
  readonly webhookUrl?: string;
  /**
   * Name of the Chatbot channel configuration; unique per account.
   * @default 'recovery-drill-escalations'
   */
  readonly slackConfigurationName?: string;
  /**
   * What happens to the topic's key when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const DEFAULTS = {
  emails: [] as readonly string[],
  slackConfigurationName: 'recovery-drill-escalations',
  removalPolicy: RemovalPolicy.RETAIN,
};

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SLACK_ID = /^[A-Z0-9]{9,}$/;

/** The escalation SNS topic, its key and its subscriptions. */
export class EscalationTopic extends Construct {
  /** Encrypts the topic; CloudWatch alarms may use it so that they can publish. */
  readonly key: kms.Key;
  readonly topic: sns.Topic;
  /** Present when a Slack channel was configured. */
  readonly slackChannel?: chatbot.SlackChannelConfiguration;

  constructor(scope: Construct, id: string, props: EscalationTopicProps = {}) {
    super(scope, id);
    const p = withDefaults(DEFAULTS, props);
    p.emails.forEach((email, i) => {
      checkPattern(`EscalationTopic.emails[${i}]`, email, EMAIL, 'expected an email address');
    });
    if (p.webhookUrl !== undefined) {
      checkPattern(
        'EscalationTopic.webhookUrl',
        p.webhookUrl,
        /^https:\/\/[^\s]+$/,
        'expected an https:// URL',
      );
    }
    if (p.slack !== undefined) {
      checkPattern(
        'EscalationTopic.slack.workspaceId',
        p.slack.workspaceId,
        SLACK_ID,
        'expected a Slack workspace id such as "T0123ABCD"',
      );
      checkPattern(
        'EscalationTopic.slack.channelId',
        p.slack.channelId,
        SLACK_ID,
        'expected a Slack channel id such as "C0123ABCD"',
      );
    }

    this.key = new kms.Key(this, 'Key', {
      description: 'recovery-drill: encrypts the escalation topic',
      enableKeyRotation: true,
      removalPolicy: p.removalPolicy,
    });
    // CloudWatch alarms publish to the topic with this key (a failed-invocation queue that fills
    // up raises an alarm here); without this statement the alarm's notification is dropped.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'recovery-drill escalations',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of p.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    if (p.webhookUrl !== undefined) {
      this.topic.addSubscription(
        new subscriptions.UrlSubscription(p.webhookUrl, { protocol: sns.SubscriptionProtocol.HTTPS }),
      );
    }
    if (p.slack !== undefined) {
      this.slackChannel = new chatbot.SlackChannelConfiguration(this, 'Slack', {
        slackChannelConfigurationName: p.slackConfigurationName,
        slackWorkspaceId: p.slack.workspaceId,
        slackChannelId: p.slack.channelId,
        notificationTopics: [this.topic],
      });
    }
  }
}
