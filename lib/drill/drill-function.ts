/**
 * One drill Lambda function: its own log group (retention, KMS), its own role (least privilege is
 * added by the caller), X-Ray, and the project's bundling. Its settings travel in its environment
 * (`lib/settings.ts`), nothing is written beside the bundle.
 */
import { type Duration, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { functionLogsAndRole, projectFunction, vpcAttachStatement } from '../function.ts';

export interface DrillFunctionSpec {
  /** Construct id (a contract: renaming replaces the function). */
  readonly id: string;
  /** Entry file relative to the project root. */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  /** Runs in these subnets when set (the checks reach the drill database and the app). */
  readonly vpc?: { vpc: ec2.IVpc; subnets: ec2.SubnetSelection; securityGroups: ec2.ISecurityGroup[] };
}

export interface DrillFunctionOptions {
  readonly projectRoot: string;
  readonly logRetention: logs.RetentionDays;
}

export function createDrillFunction(
  scope: Construct,
  spec: DrillFunctionSpec,
  options: DrillFunctionOptions,
): lambda.Function {
  const { logGroup, role } = functionLogsAndRole(scope, spec.id, spec.description, options.logRetention);
  if (spec.vpc) {
    role.addToPolicy(vpcAttachStatement('AttachToDrillSubnets'));
  }
  const fn = projectFunction(scope, spec.id, {
    entry: spec.entry,
    projectRoot: options.projectRoot,
    description: spec.description,
    timeout: spec.timeout,
    role,
    logGroup,
    environment: spec.environment,
    ...(spec.vpc
      ? { vpc: spec.vpc.vpc, vpcSubnets: spec.vpc.subnets, securityGroups: spec.vpc.securityGroups }
      : {}),
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: spec.vpc
      ? `X-Ray (xray:PutTraceSegments/PutTelemetryRecords) and ec2:DescribeNetworkInterfaces accept no resource ARN, and the other ENI actions a function in a VPC needs (ec2:Create/DeleteNetworkInterface, ec2:Assign/UnassignPrivateIpAddresses) act on network interfaces Lambda creates at run time, whose ids no policy can name in advance; no other statement of the ${spec.id} function is on every resource (its narrower wildcard ARNs are acknowledged one by one).`
      : `X-Ray (xray:PutTraceSegments/PutTelemetryRecords) accepts no resource ARN; no other statement of the ${spec.id} function is on every resource (its narrower wildcard ARNs are acknowledged one by one).`,
  });
  return fn;
}
