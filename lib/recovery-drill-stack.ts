/**
 * `RecoveryDrillStack`: everything the backup policy needs in the source region, built from the
 * one configuration. The restore drill (issue 4) adds its state machine to this stack.
 */
import { Aws, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { Config } from '../functions/core/config.ts';
import type { AppArtifacts } from './artifacts.ts';
import { BackupFunctions } from './backup/backup-functions.ts';
import { BackupStore } from './backup-store.ts';
import { RestoreDrill } from './drill/restore-drill.ts';
import { EscalationTopic } from './escalation-topic.ts';
import { PROJECT_ROOT } from './function.ts';
import { configuredHeartbeat, type Heartbeat } from './heartbeat.ts';
import { Monitoring } from './monitoring.ts';
import { deploymentName } from './names.ts';

export interface RecoveryDrillStackProps extends StackProps {
  /** The validated configuration (`loadConfig()`). */
  readonly config: Config;
  /** The app's artifacts read at synth (`readAppArtifacts`). */
  readonly artifacts: AppArtifacts;
  /**
   * The drill state machine in `isolation.copyRegion` (`RecoveryDrillCopyRegionStack`), which the
   * start function starts for a drill from the isolated copy.
   * @default - none: the copy region is the source region, this stack's drill serves every origin
   */
  readonly copyRegionStateMachineArn?: string;
  /**
   * Folder with `package-lock.json` and `functions/`.
   * @default - this repository
   */
  readonly projectRoot?: string;
}

/** The backup stack in `source.region`. */
export class RecoveryDrillStack extends Stack {
  readonly config: Config;
  readonly store: BackupStore;
  readonly escalation: EscalationTopic;
  readonly backups: BackupFunctions;
  readonly drill: RestoreDrill;
  readonly monitoring: Monitoring;
  /** Present when `heartbeat.mode` is `function`. */
  readonly heartbeat?: Heartbeat;

  constructor(scope: Construct, id: string, props: RecoveryDrillStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;

    this.store = new BackupStore(this, 'BackupStore', { config });

    this.escalation = new EscalationTopic(this, 'Escalation', {
      config,
      slackConfigurationName: deploymentName(config.environment, 'slackConfiguration'),
    });

    const copyKmsKeyArn =
      config.isolation.copyKmsKeyArn ??
      `arn:${Aws.PARTITION}:kms:${config.isolation.copyRegion}:${Aws.ACCOUNT_ID}:${deploymentName(config.environment, 'copyKeyAlias')}`;
    this.backups = new BackupFunctions(this, 'Backups', {
      config,
      copyKmsKeyArn,
      bucket: this.store.bucket,
      bucketKey: this.store.key,
      topic: this.escalation.topic,
      topicKey: this.escalation.key,
      artifacts: props.artifacts,
      projectRoot: props.projectRoot,
    });

    this.drill = new RestoreDrill(this, 'Drill', {
      config,
      bucket: this.store.bucket,
      bucketKey: this.store.key,
      topic: this.escalation.topic,
      topicKey: this.escalation.key,
      projectRoot: props.projectRoot ?? PROJECT_ROOT,
      schedulerRole: this.backups.schedulerRole,
      failureQueueArn: this.backups.failureQueue.queueArn,
      stateTable: this.backups.stateTable,
      // Without a copy region of its own, this drill restores the isolated copy too.
      servesFrom: props.copyRegionStateMachineArn
        ? ['source']
        : ['source', 'isolated-region', 'isolated-snapshot'],
      ...(props.copyRegionStateMachineArn
        ? { copyRegionStateMachineArn: props.copyRegionStateMachineArn }
        : { copyKmsKeyArn }),
    });

    this.heartbeat = configuredHeartbeat(this, 'Heartbeat', config, {
      schedulerRole: this.backups.schedulerRole,
      failureQueueArn: this.backups.failureQueue.queueArn,
      topic: this.escalation.topic,
      projectRoot: props.projectRoot,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      topic: this.escalation.topic,
      stateMachine: this.drill.stateMachine.stateMachine,
      functions: {
        ...this.backups.functions,
        drillControl: this.drill.functions.control,
        drillChecks: this.drill.functions.checks,
        drillReporting: this.drill.functions.reporting,
        ...(this.drill.functions.start ? { drillStart: this.drill.functions.start } : {}),
        drillAbortCleanup: this.drill.abortCleanup,
      },
      passedDrillRecord: {
        table: this.backups.stateTable,
        tableKey: this.backups.key,
        reportingFunction: this.drill.functions.reporting,
      },
    });

    new CfnOutput(this, 'DrillStateMachineArn', {
      description: 'Start a drill by hand: recovery-drill start (or the DrillStart function)',
      value: this.drill.stateMachine.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'BackupBucketName', {
      description: 'Backup bucket: artifacts/, prune/ plans, exports/',
      value: this.store.bucket.bucketName,
    });
    new CfnOutput(this, 'EscalationTopicArn', {
      description: 'Every escalation is published here',
      value: this.escalation.topic.topicArn,
    });
    new CfnOutput(this, 'StateTableName', {
      description: 'Open incidents (escalate once per incident)',
      value: this.backups.stateTable.tableName,
    });
  }
}
