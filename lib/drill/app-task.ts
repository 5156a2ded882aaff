/**
 * The app's ECS task in the drill cluster: one container of the configured image that migrates
 * (a command override) and serves, its connection read from the drill secret; by default as a
 * non-root user on a read-only root filesystem with a writable /tmp (`drill.hardenContainers`).
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?::([^@]+))?(?:@(.+))?$/;

/** The ECR repository ARN of an ECR image reference, or null for any other registry. */
export function ecrRepositoryArnOf(image: string): string | null {
  const ecrImage = ECR_IMAGE.exec(image);
  if (!ecrImage) return null;
  const [, account, region, name] = ecrImage;
  return `arn:aws:ecr:${region}:${account}:repository/${name}`;
}

/** An ECR image gets a pull grant for the task's execution role; any other registry is pulled as is. */
function containerImage(scope: Construct, image: string): ecs.ContainerImage {
  const ecrImage = ECR_IMAGE.exec(image);
  if (!ecrImage) return ecs.ContainerImage.fromRegistry(image);
  const [, account, region, name, tag, digest] = ecrImage;
  const repository = ecr.Repository.fromRepositoryAttributes(scope, 'AppRepository', {
    repositoryName: name as string,
    repositoryArn: `arn:aws:ecr:${region}:${account}:repository/${name}`,
  });
  return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
}

/** The temporary volume the hardened containers write to (their root filesystem is read-only). */
export const TEMP_VOLUME = 'tmp';
/** Where the temporary volume is mounted; `HOME` and `TMPDIR` point there too. */
export const TEMP_PATH = '/tmp';

/**
 * How the app and migrate containers run: as `user` with a read-only root filesystem and a
 * writable temporary volume (`drill.hardenContainers` on), or as the image says (null).
 */
export interface ContainerHardening {
  /** `app.user`: `uid`, `uid:gid` or a user name the image defines; never root. */
  readonly user: string;
}

export interface DrillAppTask {
  readonly cluster: ecs.Cluster;
  readonly appTask: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  /** Where the app and migrate containers log. */
  readonly logGroup: logs.LogGroup;
}

export function createDrillAppTask(
  scope: Construct,
  vpc: ec2.IVpc,
  image: string,
  port: number,
  drillSecret: secretsmanager.ISecret,
  retention: logs.RetentionDays,
  hardening: ContainerHardening | null,
): DrillAppTask {
  // --- the app's task: migrate (command override) and serve ---------------------------------
  const cluster = new ecs.Cluster(scope, 'Cluster', {
    vpc,
    containerInsightsV2: ecs.ContainerInsights.ENABLED,
  });
  const taskLogs = new logs.LogGroup(scope, 'AppTaskLogs', {
    retention,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const appTask = new ecs.FargateTaskDefinition(scope, 'AppTask', { cpu: 512, memoryLimitMiB: 1024 });
  Validations.of(appTask).acknowledge({
    id: 'AwsSolutions-ECS2',
    reason: hardening
      ? `The plain environment variables are PORT (the listening port) and HOME and TMPDIR (${TEMP_PATH}, the only writable path of the hardened containers); the connection comes from the drill secret.`
      : 'The only plain environment variable is PORT (the listening port); the connection comes from the drill secret.',
  });
  // Hardened: tools that write to the home directory (npm's cache and logs, Prisma's) and the
  // temporary directory find the writable volume there.
  const writable: Record<string, string> = hardening ? { HOME: TEMP_PATH, TMPDIR: TEMP_PATH } : {};
  const container = appTask.addContainer('app', {
    image: containerImage(scope, image),
    essential: true,
    portMappings: [{ containerPort: port }],
    environment: { PORT: String(port), ...writable },
    secrets: { DATABASE_URL: ecs.Secret.fromSecretsManager(drillSecret, 'DATABASE_URL') },
    logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'drill', logGroup: taskLogs }),
    ...(hardening ? { user: hardening.user, readonlyRootFilesystem: true } : {}),
  });
  if (hardening) {
    // A task-scoped volume on the task's ephemeral storage: gone when the task stops.
    appTask.addVolume({ name: TEMP_VOLUME });
    container.addMountPoints({ sourceVolume: TEMP_VOLUME, containerPath: TEMP_PATH, readOnly: false });
  }

  Validations.of(appTask.obtainExecutionRole()).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'ecr:GetAuthorizationToken, which every image pull from ECR needs, accepts no resource ARN; the pull itself is limited to the app repository.',
  });
  return { cluster, appTask, container, logGroup: taskLogs };
}
