/**
 * Builds the CDK app from the configuration, in-process, so that `bin/app.ts` (synth), the tests
 * and anything else build exactly the same stacks, with cdk-nag's AWS Solutions checks attached:
 * an unacknowledged finding fails synthesis.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, App, Aws, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type Config, ConfigError } from '../functions/core/config.ts';
import { readAppArtifacts } from './artifacts.ts';
import { RecoveryDrillCopyAccountStack } from './copy-account-stack.ts';
import { RecoveryDrillCopyRegionStack } from './copy-region-drill-stack.ts';
import { PROJECT_ROOT } from './function.ts';
import { RecoveryDrillIsolationStack } from './isolation-stack.ts';
import { deploymentName } from './names.ts';
import { RecoveryDrillStack } from './recovery-drill-stack.ts';

export interface BuildAppOptions {
  /** Folder relative paths in the configuration are resolved against (the config file's folder). */
  readonly baseDir: string;
  /**
   * The app to add the stacks to.
   * @default - a new App with the feature flags of cdk.json
   */
  readonly app?: App;
  /**
   * Folder with `package-lock.json` and `functions/`.
   * @default - this repository
   */
  readonly projectRoot?: string;
}

export interface RecoveryDrillApp {
  readonly app: App;
  readonly stack: RecoveryDrillStack;
  /** Present when `isolation.copyKmsKeyArn` is null: the stack that creates the copy key. */
  readonly isolationStack?: RecoveryDrillIsolationStack;
  /**
   * Present when `isolation.copyAccountId` is set: the stack deployed in that account that copies
   * the shared snapshots into snapshots it owns.
   */
  readonly copyAccountStack?: RecoveryDrillCopyAccountStack;
  /** Present when `isolation.copyRegion` is not `source.region`: the drill from the isolated copy. */
  readonly copyRegionStack?: RecoveryDrillCopyRegionStack;
}

/** The feature flags (`context`) of cdk.json, so an app built in-process behaves like `cdk synth`. */
export function cdkJsonContext(projectRoot: string = PROJECT_ROOT): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')) as { context?: object };
  return { ...(cdkJson.context ?? {}) };
}

/** Apps that already carry cdk-nag's checks (Validations lists no plugins to ask). */
const checkedApps = new WeakSet<App>();

/**
 * Builds `RecoveryDrillStack` (and `RecoveryDrillIsolationStack` when the copy key is ours), each
 * named for `config.environment` (lib/names.ts): call it again with the same `app` and another
 * environment's configuration to hold both deployments in one app.
 * @throws ConfigError naming the missing artifact's field and path, or a missing `app.image`.
 */
export function buildApp(config: Config, options: BuildAppOptions): RecoveryDrillApp {
  const artifacts = readAppArtifacts(config.app, options.baseDir);
  if (config.app.image === null) {
    throw new ConfigError([
      {
        path: 'app.image',
        value: 'null',
        expected:
          'the container image of the app, to deploy the drill (its migrate command and the app itself run from it), e.g. "123456789012.dkr.ecr.eu-west-1.amazonaws.com/bt-cts-api:1.4.2"',
      },
    ]);
  }
  const app = options.app ?? new App({ context: cdkJsonContext(options.projectRoot) });
  if (!checkedApps.has(app)) {
    // Once per app: a second environment built into the same app is checked by the same plugin.
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    checkedApps.add(app);
  }

  // Stack ids are the stack names: two environments' stacks sit side by side in one app (lib/names.ts).
  const { environment } = config;
  const description = `recovery-drill (${environment}): backups of ${config.source.dbInstanceIdentifier}`;
  const drillStackName = deploymentName(environment, 'drillStack');
  if (app.node.tryFindChild(drillStackName)) {
    throw new ConfigError([
      {
        path: 'environment',
        value: JSON.stringify(environment),
        expected: `an environment not yet built into this app (its stack ${drillStackName} is already there; each deployment needs its own environment)`,
      },
    ]);
  }
  let isolationStack: RecoveryDrillIsolationStack | undefined;
  if (config.isolation.copyKmsKeyArn === null) {
    isolationStack = new RecoveryDrillIsolationStack(app, deploymentName(environment, 'isolationStack'), {
      env: { region: config.isolation.copyRegion },
      environment,
      description: `${description}: the snapshot copy key in ${config.isolation.copyRegion}`,
      copyAccountId: config.isolation.copyAccountId ?? undefined,
    });
  }
  // A drill runs in the region of its data: drills from the isolated copy run in the copy region,
  // from a stack of their own there (the same drill construct), started by name from here.
  const copyRegionDrills = config.isolation.copyRegion !== config.source.region;
  const copyKmsKeyArn =
    config.isolation.copyKmsKeyArn ??
    `arn:${Aws.PARTITION}:kms:${config.isolation.copyRegion}:${Aws.ACCOUNT_ID}:${deploymentName(environment, 'copyKeyAlias')}`;
  const copyStateMachineArn = copyRegionDrills
    ? `arn:${Aws.PARTITION}:states:${config.isolation.copyRegion}:${Aws.ACCOUNT_ID}:stateMachine:${deploymentName(environment, 'copyRegionStateMachine')}`
    : undefined;
  const stack = new RecoveryDrillStack(app, drillStackName, {
    env: { region: config.source.region },
    description,
    config,
    artifacts,
    projectRoot: options.projectRoot,
    // The copy region's drill reads the bucket, topic and state table by reference.
    crossRegionReferences: copyRegionDrills,
    ...(copyStateMachineArn ? { copyRegionStateMachineArn: copyStateMachineArn } : {}),
  });
  // Deploy the key before the functions that name it (an ordering, not a reference).
  if (isolationStack)
    stack.addStackDependency(isolationStack, 'the copy key must exist before the first copy');
  // Another account: deployed with its own credentials, after the source's stacks (README, disaster recovery).
  const copyAccountStack =
    config.isolation.copyAccountId === null
      ? undefined
      : new RecoveryDrillCopyAccountStack(app, deploymentName(environment, 'copyAccountStack'), {
          env: { account: config.isolation.copyAccountId, region: config.isolation.copyRegion },
          description: `${description}: the isolation account's own copies in ${config.isolation.copyRegion}`,
          config,
          projectRoot: options.projectRoot,
        });
  let copyRegionStack: RecoveryDrillCopyRegionStack | undefined;
  if (copyRegionDrills) {
    copyRegionStack = new RecoveryDrillCopyRegionStack(
      app,
      deploymentName(environment, 'copyRegionDrillStack'),
      {
        env: { region: config.isolation.copyRegion },
        description: `${description}: the restore drill from the isolated copy in ${config.isolation.copyRegion}`,
        crossRegionReferences: true,
        config,
        artifacts,
        projectRoot: options.projectRoot,
        copyKmsKeyArn,
        shared: {
          bucket: stack.store.bucket,
          bucketKey: stack.store.key,
          topic: stack.escalation.topic,
          ...(stack.escalation.key ? { topicKey: stack.escalation.key } : {}),
          stateTable: stack.backups.stateTable,
        },
      },
    );
    if (isolationStack)
      copyRegionStack.addStackDependency(isolationStack, 'a snapshot copy is restored with the copy key');
    // Strong, on purpose: the backup stack cannot drop a value the copy region's drill still reads.
    Annotations.of(copyRegionStack).acknowledgeWarning(
      '@aws-cdk/core:crossStackReferencesDefaultStrong',
      "The copy region's drill reads the backup bucket, topic and state table of the source region's stack: strong references keep them from being removed under it.",
    );
  }
  return {
    app,
    stack,
    ...(isolationStack ? { isolationStack } : {}),
    ...(copyAccountStack ? { copyAccountStack } : {}),
    ...(copyRegionStack ? { copyRegionStack } : {}),
  };
}
