/**
 * `RecoveryDrillCopyRegionStack`: the drill in `isolation.copyRegion`, the region of the isolated
 * copy, so that a drill from it (`isolated-region`, `isolated-snapshot`) uses only what is there:
 * the same `RestoreDrill` construct as the source region's stack (its VPC and endpoints, drill
 * secret, ECS cluster, checks function, state machine, abort cleanup), without a schedule (the
 * source region's start function starts it by its name), and a copy of the app's artifacts in
 * this region (the checks read them through the VPC's S3 gateway endpoint, which reaches only
 * buckets of its own region). Reports, escalations and incidents stay where the history is: the
 * backup bucket, topic and state table of the source region (cross-region references).
 */
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { Config } from '../functions/core/config.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../functions/core/contracts.ts';
import { type AppArtifacts, copyArtifactsCommands } from './artifacts.ts';
import {
  ARTIFACTS_ENTRY,
  acknowledgeArtifactsRole,
  artifactsUpload,
  grantArtifacts,
} from './backup/artifacts.ts';
import { RestoreDrill } from './drill/restore-drill.ts';
import { functionLogsAndRole, PROJECT_ROOT, projectFunction } from './function.ts';
import { deploymentName } from './names.ts';
import { settingsEnvironment } from './settings.ts';

/** The ECR registry of an image URI (`<account>.dkr.ecr.<region>.amazonaws.com/...`). */
const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/(.+)$/;

/**
 * The app's image in `region`: an ECR image of another region is pulled from this region's
 * registry (same account and repository, as ECR cross-region replication keeps it: the drill VPC
 * reaches ECR only through its own region's endpoints); any other image is used as it is.
 */
export function imageInRegion(image: string, region: string): string {
  const ecr = ECR_IMAGE.exec(image);
  if (!ecr) return image;
  return `${ecr[1]}.dkr.ecr.${region}.amazonaws.com${ecr[3] ?? ''}/${ecr[4]}`;
}

/** What the copy region's drill uses of the source region's stack. */
export interface SourceRegionShared {
  readonly bucket: s3.IBucket;
  readonly bucketKey: kms.IKey;
  readonly topic: sns.ITopic;
  readonly topicKey?: kms.IKey;
  readonly stateTable: dynamodb.ITable;
}

export interface RecoveryDrillCopyRegionStackProps extends StackProps {
  readonly config: Config;
  readonly artifacts: AppArtifacts;
  readonly shared: SourceRegionShared;
  /** The snapshot copies' key (or alias) ARN in this region. */
  readonly copyKmsKeyArn: string;
  /**
   * Folder with `package-lock.json` and `functions/`.
   * @default - this repository
   */
  readonly projectRoot?: string;
}

/** The drill in the copy region. */
export class RecoveryDrillCopyRegionStack extends Stack {
  readonly drill: RestoreDrill;
  /** The app's artifacts in this region, written at every deployment whose artifacts changed. */
  readonly artifactsBucket: s3.Bucket;
  readonly artifactsKey: kms.Key;
  /** The state machine's ARN, built from its name (the source region's start function names it). */
  readonly stateMachineArn: string;

  constructor(scope: Construct, id: string, props: RecoveryDrillCopyRegionStackProps) {
    super(scope, id, props);
    const { config, shared } = props;
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    const region = config.isolation.copyRegion;
    const image = config.app.image;
    if (image === null) throw new Error('RecoveryDrillCopyRegionStack: config.app.image is required');

    // --- the app's artifacts in this region -------------------------------------------------------
    this.artifactsKey = new kms.Key(this, 'ArtifactsKey', {
      description: 'recovery-drill: encrypts the copy region drill copy of the app artifacts',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.artifactsBucket = new s3.Bucket(this, 'ArtifactsCopy', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.artifactsKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(400) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.artifactsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "A copy of the app artifacts for the copy region's drill, written only by this stack's artifacts function at deployment and read only by the drill's checks; the original in the backup bucket has server access logs.",
    });
    const retention = logs.RetentionDays.ONE_YEAR;
    const { logGroup, role } = functionLogsAndRole(
      this,
      ARTIFACTS_ENTRY.id,
      ARTIFACTS_ENTRY.description,
      retention,
    );
    grantArtifacts(role, this.artifactsBucket, this.artifactsKey);
    acknowledgeArtifactsRole(role, this.artifactsBucket);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Escalate',
        actions: ['sns:Publish'],
        resources: [shared.topic.topicArn],
      }),
    );
    if (shared.topicKey)
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'EscalateEncrypted',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [shared.topicKey.keyArn],
        }),
      );
    const artifactsFn = projectFunction(this, ARTIFACTS_ENTRY.id, {
      entry: ARTIFACTS_ENTRY.file,
      projectRoot,
      description: `${ARTIFACTS_ENTRY.description} (the copy region's drill copy)`,
      timeout: ARTIFACTS_ENTRY.timeout,
      role,
      logGroup,
      environment: {
        ...settingsEnvironment(this, 'artifacts', config, {
          topicArn: shared.topic.topicArn,
          stateTable: shared.stateTable.tableName,
          bucket: this.artifactsBucket.bucketName,
          artifactsVersion: props.artifacts.version,
        }),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      afterBundling: (outputDir) => copyArtifactsCommands(props.artifacts, outputDir),
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `${ARTIFACTS_ENTRY.starReason} X-Ray tracing of the artifacts function: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.`,
    });
    artifactsUpload(this, artifactsFn, props.artifacts, retention);

    // --- the drill ---------------------------------------------------------------------------------
    const stateMachineName = deploymentName(config.environment, 'copyRegionStateMachine');
    this.stateMachineArn = `arn:${Aws.PARTITION}:states:${region}:${Aws.ACCOUNT_ID}:stateMachine:${stateMachineName}`;
    this.drill = new RestoreDrill(this, 'Drill', {
      config,
      bucket: shared.bucket,
      bucketKey: shared.bucketKey,
      topic: shared.topic,
      ...(shared.topicKey ? { topicKey: shared.topicKey } : {}),
      stateTable: shared.stateTable,
      projectRoot,
      servesFrom: ['isolated-region', 'isolated-snapshot'],
      artifacts: { bucket: this.artifactsBucket, key: this.artifactsKey },
      copyKmsKeyArn: props.copyKmsKeyArn,
      image: imageInRegion(image, region),
      stateMachineName,
    });

    new CfnOutput(this, 'DrillStateMachineArn', {
      description:
        'The drill from the isolated copy: recovery-drill start --from isolated-region|isolated-snapshot',
      value: this.drill.stateMachine.stateMachine.stateMachineArn,
    });
  }
}
