/**
 * The copy region's half of "isolated and encrypted": the KMS key that encrypts the snapshot
 * copies there. It is a stack of its own because a key lives in one region; the main stack finds
 * it by its alias (`deploymentName(environment, 'copyKeyAlias')`, lib/names.ts), so no
 * cross-region reference (and no custom resource) joins the two.
 */
import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { deploymentName, UNSUFFIXED_ENVIRONMENT } from './names.ts';
import { checkPattern } from './props.ts';

export interface RecoveryDrillIsolationStackProps extends StackProps {
  /**
   * The configured `environment`: the key's alias carries it (the main stack of the same
   * environment names the key by that alias), so two environments' keys do not collide.
   * @default 'production' (the alias without a suffix)
   */
  readonly environment?: string;
  /**
   * Account the copies are shared with: it may use the key to copy or restore them.
   * @default - only this account uses the key
   */
  readonly copyAccountId?: string;
  /**
   * What happens to the key when the stack is deleted.
   * @default RemovalPolicy.RETAIN - copies encrypted with it would become unreadable
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Holds the copy key in the copy region. */
export class RecoveryDrillIsolationStack extends Stack {
  readonly copyKey: kms.Key;

  constructor(scope: Construct, id: string, props: RecoveryDrillIsolationStackProps = {}) {
    super(scope, id, props);
    if (props.copyAccountId !== undefined) {
      checkPattern(
        'RecoveryDrillIsolationStack.copyAccountId',
        props.copyAccountId,
        /^\d{12}$/,
        'expected a 12-digit AWS account id',
      );
    }
    this.copyKey = new kms.Key(this, 'CopyKey', {
      description: 'recovery-drill: encrypts the isolated copies of the database snapshots',
      alias: deploymentName(props.environment ?? UNSUFFIXED_ENVIRONMENT, 'copyKeyAlias'),
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    if (props.copyAccountId !== undefined) {
      // A snapshot shared with another account is only usable there if the key is too: through
      // RDS in this region only (copying or restoring the shared copy), never directly.
      this.copyKey.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowIsolationAccountToUseSharedCopies',
          principals: [new iam.AccountPrincipal(props.copyAccountId)],
          actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:CreateGrant'],
          resources: ['*'],
          conditions: { StringEquals: { 'kms:ViaService': `rds.${this.region}.amazonaws.com` } },
        }),
      );
    }
  }
}
