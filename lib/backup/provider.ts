/**
 * A CloudFormation custom resource backed by one of the backup functions (aws-cdk-lib's Provider
 * framework), with the framework's own log group and a role that may only write those logs and
 * invoke that function: what the artifacts upload and the replication setup share.
 */
import { CustomResource, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { functionLogsAndRole } from '../function.ts';
import { acknowledgeWildcardResource } from '../nag.ts';

export interface FunctionResourceProps {
  /** Prefix of the construct ids (`<prefix>ProviderLogs`, `<prefix>ProviderRole`, `<prefix>Provider`): a contract. */
  readonly prefix: string;
  /** Construct id of the custom resource itself (a contract: renaming replaces it). */
  readonly id: string;
  readonly fn: lambda.IFunction;
  readonly logRetention: logs.RetentionDays;
  /** What the resource does, for the framework role's description, e.g. "the artifacts upload". */
  readonly purpose: string;
  readonly resourceType: string;
  /** Changing a property makes CloudFormation run the resource again (an Update). */
  readonly properties: Record<string, unknown>;
}

/** The custom resource, run by `fn` on Create, Update and Delete. */
export function functionResource(scope: Construct, p: FunctionResourceProps): CustomResource {
  const { logGroup: providerLogs, role: providerRole } = functionLogsAndRole(
    scope,
    `${p.prefix}Provider`,
    `recovery-drill: CloudFormation custom resource framework for ${p.purpose}`,
    p.logRetention,
  );
  const provider = new cr.Provider(scope, `${p.prefix}Provider`, {
    onEventHandler: p.fn,
    logGroup: providerLogs,
    frameworkOnEventRole: providerRole,
  });
  acknowledgeWildcardResource(
    providerRole,
    `${p.fn.functionArn}:*`,
    `The custom resource framework (aws-cdk-lib Provider) grants itself invoke on the function of ${p.purpose} and its versions; it invokes nothing else.`,
  );
  Validations.of(provider).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'The custom resource framework function runtime is chosen by aws-cdk-lib (determineLatestNodeRuntime) and cannot be set by the caller.',
  });
  return new CustomResource(scope, p.id, {
    serviceToken: provider.serviceToken,
    resourceType: p.resourceType,
    properties: p.properties,
  });
}
