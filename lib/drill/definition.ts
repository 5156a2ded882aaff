/**
 * The drill's state machine definition as plain ASL, synthesized by CDK from the very construct
 * the stack deploys ({@link DrillStateMachine}), for the local engine and the tests.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { splitCommand } from '../../functions/core/command.ts';
import type { Config } from '../../functions/core/config.ts';
import { extractDefinition } from '../../functions/drill/asl.ts';
import { DEFAULT_STEP_TIMEOUT, DrillStateMachine } from './drill-state-machine.ts';

const PLACEHOLDER_ACCOUNT = '123456789012';

/**
 * Synthesizes the drill state machine with the configuration's settings and returns its ASL.
 * Only the definition is used: the resources around it are stand-ins with plausible ARNs.
 */
export function drillDefinition(config: Config): Record<string, unknown> {
  // Only the definition is read: skip the template schema validation (seconds of CPU per synth).
  const app = new App({ builtinCloudFormationValidation: false });
  const region = config.source.region;
  const stack = new Stack(app, 'RecoveryDrillDefinition', { env: { account: PLACEHOLDER_ACCOUNT, region } });
  const fn = (name: string) =>
    lambda.Function.fromFunctionArn(
      stack,
      name,
      `arn:aws:lambda:${region}:${PLACEHOLDER_ACCOUNT}:function:recovery-drill-${name}`,
    );
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-00000000',
    availabilityZones: [`${region}a`],
    isolatedSubnetIds: ['subnet-00000000'],
  });
  const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: 'recovery-drill', vpc });
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'MigrateTask');
  const containerDefinition = taskDefinition.addContainer('app', {
    image: ecs.ContainerImage.fromRegistry(config.app.image ?? 'app-image'),
  });
  new DrillStateMachine(stack, 'Drill', {
    functions: { control: fn('control'), checks: fn('checks'), reporting: fn('reporting') },
    migrateTask: {
      cluster,
      taskDefinition,
      containerDefinition,
      command: splitCommand(config.app.migrateCommand),
      subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-00000000')],
    },
    timeout: Duration.minutes(config.drill.timeoutMinutes),
    stepTimeout: DEFAULT_STEP_TIMEOUT,
    logKey: kms.Key.fromKeyArn(
      stack,
      'Key',
      `arn:aws:kms:${region}:${PLACEHOLDER_ACCOUNT}:key/00000000-0000-0000-0000-000000000000`,
    ),
  });
  return extractDefinition(Template.fromStack(stack).toJSON() as never, { region });
}
