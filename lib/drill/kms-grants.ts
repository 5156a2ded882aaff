/**
 * What a role needs to have RDS use a customer-managed KMS key on its behalf: restore an encrypted
 * source (or snapshot) into a new instance, which RDS encrypts with that key, or copy an encrypted
 * snapshot. RDS asks KMS with the caller's rights: it describes the key, creates a grant for the
 * new instance or snapshot, and decrypts and generates data keys. Every statement here holds only
 * through RDS in the named regions (`kms:ViaService`), and the grant only for an AWS resource
 * (`kms:GrantIsForAWSResource`): the role itself can neither decrypt with the key nor hand
 * a grant to a principal of its choosing.
 */
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * The actions RDS takes with the caller's rights when it encrypts or decrypts with a customer key
 * (`kms:GenerateDataKey*` spelled out: no wildcard action).
 */
export const RDS_KEY_USE_ACTIONS = [
  'kms:Decrypt',
  'kms:DescribeKey',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
] as const;

export interface RdsKeyUse {
  /** Prefix of the statements' sids (`<prefix>ThroughRds`, `<prefix>GrantForRdsResource`). */
  readonly sid: string;
  /** The key's ARN (IAM authorizes the key ARN, never an alias ARN). */
  readonly key: string;
  /** Regions whose RDS may use the key (`rds.<region>.amazonaws.com`). */
  readonly regions: readonly string[];
  /**
   * Extra conditions on both statements (e.g. `kms:ResourceAliases` when the key is known by alias).
   * @default - none
   */
  readonly conditions?: Record<string, Record<string, unknown>>;
  /**
   * The actions beside `kms:CreateGrant`.
   * @default RDS_KEY_USE_ACTIONS
   */
  readonly actions?: readonly string[];
}

/** The two statements: key use through RDS, and grants for the AWS resources RDS creates. */
export function rdsKeyUseStatements(use: RdsKeyUse): iam.PolicyStatement[] {
  const services = use.regions.map((region) => `rds.${region}.amazonaws.com`);
  const viaRds = { 'kms:ViaService': services.length === 1 ? services[0] : services };
  const extra = use.conditions ?? {};
  return [
    new iam.PolicyStatement({
      sid: `${use.sid}ThroughRds`,
      actions: [...(use.actions ?? RDS_KEY_USE_ACTIONS)],
      resources: [use.key],
      conditions: { ...extra, StringEquals: { ...(extra.StringEquals ?? {}), ...viaRds } },
    }),
    new iam.PolicyStatement({
      sid: `${use.sid}GrantForRdsResource`,
      actions: ['kms:CreateGrant'],
      resources: [use.key],
      conditions: {
        ...extra,
        StringEquals: { ...(extra.StringEquals ?? {}), ...viaRds },
        Bool: { 'kms:GrantIsForAWSResource': 'true' },
      },
    }),
  ];
}
