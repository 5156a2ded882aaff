/**
 * Endpoint policies of the drill VPC: the app image runs there on a full copy of production data,
 * so each endpoint lets through only what the drill itself uses. Without them "no internet route"
 * is not isolation: the app could write the data to any bucket or read any secret in the region.
 *
 * - S3 (gateway): the captured artifacts the checks read, and ECR's image layer bucket.
 * - Secrets Manager: the drill secret (the tasks read it, the checks read and write the session)
 *   and the admin password secret of the login check.
 * - ECR (API and registry): the authorization token and pulls of the app repository only.
 * - CloudWatch Logs: the app task's log group only.
 * - RDS: describing drill instances only.
 * - X-Ray: the trace upload actions (they accept no resource).
 */
import { Aws, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Config } from '../../functions/core/config.ts';
import { ecrRepositoryArnOf } from './app-task.ts';

export interface EndpointTargets {
  readonly config: Pick<Config, 'source' | 'drill' | 'smoke' | 'app'>;
  readonly bucket: s3.IBucket;
  readonly drillSecret: secretsmanager.ISecret;
  readonly appLogs: logs.ILogGroup;
}

function statement(sid: string, actions: string[], resources: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, principals: [new iam.AnyPrincipal()], actions, resources });
}

/** The admin password secret's ARN pattern (a name matches with Secrets Manager's random suffix). */
function adminPasswordArn(config: EndpointTargets['config'], region: string): string | null {
  const name = config.smoke.adminPasswordSecret;
  if (!name) return null;
  return name.startsWith('arn:')
    ? name
    : `arn:${Aws.PARTITION}:secretsmanager:${region}:${Aws.ACCOUNT_ID}:secret:${name}-??????`;
}

/** The statements each endpoint allows, by endpoint name (as `createDrillNetwork` names them). */
export function endpointStatements(t: EndpointTargets): Record<string, iam.PolicyStatement[]> {
  // The drill's region (the region of its data): the endpoints are in its VPC.
  const region = Stack.of(t.drillSecret).region;
  const repository = t.config.app.image ? ecrRepositoryArnOf(t.config.app.image) : null;
  const ecr = [
    statement('EcrAuthorizationToken', ['ecr:GetAuthorizationToken'], ['*']),
    ...(repository
      ? [
          statement(
            'PullAppImage',
            ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
            [repository],
          ),
        ]
      : []),
  ];
  const admin = adminPasswordArn(t.config, region);
  return {
    S3: [
      statement('ReadCapturedArtifacts', ['s3:GetObject'], [t.bucket.arnForObjects('artifacts/*')]),
      statement(
        'ReadEcrImageLayers',
        ['s3:GetObject'],
        [`arn:${Aws.PARTITION}:s3:::prod-${region}-starport-layer-bucket/*`],
      ),
    ],
    SecretsManager: [
      statement(
        'DrillSecret',
        ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:DescribeSecret'],
        [t.drillSecret.secretArn],
      ),
      ...(admin ? [statement('AdminPasswordSecret', ['secretsmanager:GetSecretValue'], [admin])] : []),
    ],
    Ecr: ecr,
    EcrDocker: ecr,
    Logs: [
      statement(
        'AppTaskLogs',
        ['logs:CreateLogStream', 'logs:PutLogEvents'],
        [t.appLogs.logGroupArn, `${t.appLogs.logGroupArn}:log-stream:*`],
      ),
    ],
    Rds: [
      statement(
        'DescribeDrillInstances',
        ['rds:DescribeDBInstances'],
        [`arn:${Aws.PARTITION}:rds:${region}:${Aws.ACCOUNT_ID}:db:${t.config.drill.instancePrefix}-*`],
      ),
    ],
    XRay: [
      statement(
        'UploadTraces',
        [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
        ],
        ['*'],
      ),
    ],
  };
}

/** Attaches its policy to every endpoint the drill VPC has; an endpoint without one is refused. */
export function restrictEndpoints(
  endpoints: Readonly<Record<string, ec2.VpcEndpoint>>,
  t: EndpointTargets,
): void {
  const statements = endpointStatements(t);
  for (const [name, endpoint] of Object.entries(endpoints)) {
    const policy = statements[name];
    if (!policy) throw new Error(`restrictEndpoints: no endpoint policy for the ${name} endpoint`);
    for (const s of policy) endpoint.addToPolicy(s);
  }
}
