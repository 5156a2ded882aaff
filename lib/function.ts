/**
 * A Lambda function built from this project's TypeScript with the project's bundling: ESM on the
 * newest Node.js runtime, arm64, minified, the SDK clients bundled (pinned, and only what a function uses),
 * X-Ray tracing on. Every function of the stack is made here, so they all build the same way.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Folder holding `package-lock.json` and `functions/`: where the entries are bundled from. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Construct metadata naming a function's entry file (relative to the project root), so that tests
 * can derive from the code which AWS calls each function's bundle makes.
 */
export const ENTRY_METADATA = 'recovery-drill:entry';

export interface ProjectFunctionProps {
  /** Entry file relative to the project root. */
  readonly entry: string;
  readonly projectRoot: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly environment: Record<string, string>;
  /**
   * Memory of the function.
   * @default 256
   */
  readonly memorySize?: number;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly onFailure?: lambda.IDestination;
  readonly retryAttempts?: number;
  readonly maxEventAge?: Duration;
  /** Shell commands run after bundling, given the output folder (files to ship beside the code). */
  readonly afterBundling?: (outputDir: string) => string[];
}

export function projectFunction(
  scope: Construct,
  id: string,
  props: ProjectFunctionProps,
): nodejs.NodejsFunction {
  const { afterBundling } = props;
  const fn = new nodejs.NodejsFunction(scope, id, {
    entry: join(props.projectRoot, props.entry),
    projectRoot: props.projectRoot,
    depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
    handler: 'handler',
    description: props.description,
    // The newest Node.js runtime Lambda offers (cdk-nag AwsSolutions-L1); the bundle targets node22 syntax.
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 256,
    timeout: props.timeout,
    tracing: lambda.Tracing.ACTIVE,
    role: props.role,
    logGroup: props.logGroup,
    environment: props.environment,
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    securityGroups: props.securityGroups,
    onFailure: props.onFailure,
    retryAttempts: props.retryAttempts,
    maxEventAge: props.maxEventAge,
    bundling: {
      format: nodejs.OutputFormat.ESM,
      target: 'node22',
      minify: true,
      sourceMap: false,
      mainFields: ['module', 'main'],
      // Bundle the SDK clients too: pinned versions, and only what each function uses.
      externalModules: [],
      // Some dependencies are CommonJS and call require(); an ESM bundle has none by itself.
      banner:
        "import { createRequire as __rdCreateRequire } from 'node:module';const require = __rdCreateRequire(import.meta.url);",
      commandHooks: afterBundling
        ? {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_inputDir: string, outputDir: string) => afterBundling(outputDir),
          }
        : undefined,
    },
  });
  fn.node.addMetadata(ENTRY_METADATA, props.entry);
  return fn;
}

/**
 * A function's own log group (kept on stack deletion, with a retention) and its own role, allowed
 * to write to that group only. Callers add exactly the permissions the function needs.
 */
export function functionLogsAndRole(
  scope: Construct,
  id: string,
  description: string,
  retention: logs.RetentionDays,
): { logGroup: logs.LogGroup; role: iam.Role } {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention, removalPolicy: RemovalPolicy.RETAIN });
  const role = new iam.Role(scope, `${id}Role`, {
    description: `${description} (function role)`,
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  return { logGroup, role };
}

/**
 * What a function in a VPC needs to attach to its subnets (the managed policy's actions, which take
 * no resource ARN: the network interfaces do not exist yet).
 */
export function vpcAttachStatement(sid: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: [
      'ec2:CreateNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ],
    resources: ['*'],
  });
}
