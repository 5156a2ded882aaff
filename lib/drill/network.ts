/**
 * The drill's private network: the configured subnets (imported by id; with the drill's interface
 * endpoints unless `drill.network.endpoints` is `existing`) or an isolated VPC with endpoints and no
 * internet route, and the three security groups (database, app, checks) that admit exactly the
 * drill's own traffic.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { Config } from '../../functions/core/config.ts';

const POSTGRES_PORT = 5432;

/**
 * The interface endpoints the drill uses, by name (`restrictEndpoints` gives each its policy). The
 * checks function traces to X-Ray from inside the VPC: without that endpoint (or a route of the
 * network's own) its segments would be dropped.
 */
export const INTERFACE_ENDPOINTS = [
  ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
  ['Ecr', ec2.InterfaceVpcEndpointAwsService.ECR],
  ['EcrDocker', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER],
  ['Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
  ['Rds', ec2.InterfaceVpcEndpointAwsService.RDS],
  ['XRay', ec2.InterfaceVpcEndpointAwsService.XRAY],
] as const;

/** Where the drill instance, the app's tasks and the checks function run. */
export interface DrillNetwork {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** The restored drill instance: PostgreSQL from the app and the checks only. */
  readonly dbSg: ec2.SecurityGroup;
  /** The app and migrate tasks. */
  readonly appSg: ec2.SecurityGroup;
  /** The checks function. */
  readonly checksSg: ec2.SecurityGroup;
  /**
   * The endpoints the stack created, by name: with the drill VPC, or in `drill.network` when its
   * `endpoints` is `create` (no S3 gateway there); none with `existing`.
   */
  readonly endpoints: Readonly<Record<string, ec2.VpcEndpoint>>;
}

/** Creates (or imports) the network in `scope` under the ids it always had. */
export function createDrillNetwork(
  scope: Construct,
  config: Pick<Config, 'drill' | 'app'>,
  retention: logs.RetentionDays,
): DrillNetwork {
  let vpc: ec2.IVpc;
  const endpoints: Record<string, ec2.VpcEndpoint> = {};
  const network = config.drill.network;
  if (network) {
    vpc = ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
      vpcId: network.vpcId,
      availabilityZones: network.availabilityZones,
      isolatedSubnetIds: network.subnetIds,
    });
  } else {
    const created = new ec2.Vpc(scope, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'drill', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(scope, 'FlowLogs', { retention, removalPolicy: RemovalPolicy.RETAIN }),
          ),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });
    // No internet: the tasks and the checks function reach AWS through endpoints only.
    endpoints.S3 = created.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    for (const [name, service] of INTERFACE_ENDPOINTS) {
      endpoints[name] = created.addInterfaceEndpoint(name, { service, privateDnsEnabled: true });
    }
    Validations.of(created).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        "The interface endpoints admit HTTPS from the drill VPC's own CIDR (a token cdk-nag cannot evaluate); the VPC has no internet route.",
    });
    vpc = created;
  }
  const subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

  const dbSg = new ec2.SecurityGroup(scope, 'DatabaseSg', {
    vpc,
    description: 'recovery-drill: the restored drill instance (PostgreSQL from the app and the checks only)',
    allowAllOutbound: false,
  });
  const appSg = new ec2.SecurityGroup(scope, 'AppSg', {
    vpc,
    description: 'recovery-drill: the app and migrate tasks (to the drill database and AWS endpoints)',
    allowAllOutbound: false,
  });
  const checksSg = new ec2.SecurityGroup(scope, 'ChecksSg', {
    vpc,
    description: 'recovery-drill: the checks function (to the drill database, the app and AWS endpoints)',
    allowAllOutbound: false,
  });
  for (const sg of [dbSg, appSg, checksSg]) {
    Validations.of(sg).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        "cdk-nag cannot evaluate these rules (they name other security groups by reference); every ingress rule of the drill names one of the drill's own security groups, never an address range.",
    });
  }
  dbSg.addIngressRule(appSg, ec2.Port.tcp(POSTGRES_PORT), 'app and migrate tasks');
  dbSg.addIngressRule(checksSg, ec2.Port.tcp(POSTGRES_PORT), 'drift and integrity checks');
  appSg.addIngressRule(checksSg, ec2.Port.tcp(config.app.port), 'smoke checks');
  appSg.addEgressRule(dbSg, ec2.Port.tcp(POSTGRES_PORT), 'the drill database');
  checksSg.addEgressRule(dbSg, ec2.Port.tcp(POSTGRES_PORT), 'the drill database');
  checksSg.addEgressRule(appSg, ec2.Port.tcp(config.app.port), 'the app under test');
  for (const sg of [appSg, checksSg]) {
    // The subnets have no route to the internet: HTTPS reaches only the VPC endpoints.
    sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs through the VPC endpoints');
  }
  if (network?.endpoints === 'create') {
    // The configured network: the same interface endpoints in its subnets (one per zone), open
    // only to the app and the checks. No S3 gateway endpoint: it attaches to route tables, which
    // the configuration does not name; S3 (the artifacts, ECR's layers) takes the network's route.
    const endpointSg = new ec2.SecurityGroup(scope, 'EndpointSg', {
      vpc,
      description: 'recovery-drill: the interface endpoints the drill creates in drill.network',
      allowAllOutbound: false,
    });
    Validations.of(endpointSg).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        "cdk-nag cannot evaluate these rules (they name other security groups by reference); the endpoints admit HTTPS from the drill's app and checks security groups only, never an address range.",
    });
    for (const sg of [appSg, checksSg])
      endpointSg.addIngressRule(sg, ec2.Port.tcp(443), 'AWS APIs from the drill');
    for (const [name, service] of INTERFACE_ENDPOINTS) {
      endpoints[name] = new ec2.InterfaceVpcEndpoint(scope, `${name}Endpoint`, {
        vpc,
        service,
        privateDnsEnabled: true,
        subnets: { ...subnets, onePerAz: true },
        securityGroups: [endpointSg],
        open: false,
      });
    }
  }
  return { vpc, subnets, dbSg, appSg, checksSg, endpoints };
}
