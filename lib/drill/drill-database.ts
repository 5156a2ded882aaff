/**
 * Where a drill restores into: the DB subnet group of the drill network, and the drill-owned
 * secret (with its key) that holds the running drill database's connection and the smoke checks'
 * login session, written per drill and blanked at cleanup.
 */
import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

export interface DrillDatabase {
  readonly subnetGroup: rds.SubnetGroup;
  /** Encrypts the drill secret. */
  readonly key: kms.Key;
  readonly drillSecret: secretsmanager.Secret;
}

export function createDrillDatabase(
  scope: Construct,
  vpc: ec2.IVpc,
  subnets: ec2.SubnetSelection,
): DrillDatabase {
  const subnetGroup = new rds.SubnetGroup(scope, 'DatabaseSubnets', {
    vpc,
    vpcSubnets: subnets,
    description: 'recovery-drill: isolated subnets the drill instance is restored into',
    removalPolicy: RemovalPolicy.DESTROY,
  });

  // --- the drill secret: written per drill, blanked at cleanup ------------------------------
  const key = new kms.Key(scope, 'SecretKey', {
    description:
      "recovery-drill: encrypts the drill secret (connection of the running drill database, the smoke checks' login session)",
    enableKeyRotation: true,
  });
  const drillSecret = new secretsmanager.Secret(scope, 'DrillSecret', {
    description:
      "recovery-drill: connection of the running drill database and the smoke checks' login session (blank between drills)",
    encryptionKey: key,
    secretStringValue: SecretValue.unsafePlainText('{"cleared":true}'),
  });
  Validations.of(drillSecret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The drill secret holds the credentials of a short-lived drill instance; every drill overwrites it and cleanup blanks it, so there is nothing long-lived to rotate.',
  });
  return { subnetGroup, key, drillSecret };
}
