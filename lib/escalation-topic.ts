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
import { type Config, checkConfigSections } from '../functions/core/config.ts';
import { configDefaults, withDefaults } from './props.ts';

export interface EscalationTopicProps {
  /**
   * The configuration's `notifications` section (emails, the Slack channel, an HTTPS webhook),
   * validated against the schema: a bad value is refused naming its config path
   * (`notifications.emails[1]`). Each email must confirm its subscription once; the Slack
   * workspace must be authorised in the AWS Chatbot console first.
   * @default - the schema's defaults: no subscription at all
   */
  readonly config?: Pick<Config, 'notifications'>;
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
  slackConfigurationName: 'recovery-drill-escalations',
  removalPolicy: RemovalPolicy.RETAIN,
};

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
    const { notifications } = props.config ?? configDefaults('notifications');
    checkConfigSections({ notifications }, ['notifications'], 'EscalationTopic');
    const { emails, webhookUrl, slack } = notifications;

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
    for (const email of emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    if (webhookUrl !== null) {
      this.topic.addSubscription(
        new subscriptions.UrlSubscription(webhookUrl, { protocol: sns.SubscriptionProtocol.HTTPS }),
      );
    }
    if (slack !== null) {
      this.slackChannel = new chatbot.SlackChannelConfiguration(this, 'Slack', {
        slackChannelConfigurationName: p.slackConfigurationName,
        slackWorkspaceId: slack.workspaceId,
        slackChannelId: slack.channelId,
        notificationTopics: [this.topic],
      });
    }
  }
}
