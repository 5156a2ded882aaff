/**
 * The source database, its isolated copies, the targets, retention, schedules and who hears about
 * it: the sections the scheduled backup functions read.
 */
import { z } from 'zod';
import { ACCOUNT_ID, DB_IDENTIFIER, drillFrom, isTimeZone, positiveInt, region, schedule } from './fields.ts';

/** Sections of the configuration, as fields of its root object. */
export const backupSections = {
  source: z.strictObject({
    /** The RDS instance (engine postgres) that BT-CTS runs on. */
    dbInstanceIdentifier: z
      .string()
      .regex(DB_IDENTIFIER, { error: 'expected an RDS DB instance identifier' })
      .max(63),
    region: region(),
    /**
     * The source's own network (existing subnets and security groups, imported by id: synth stays
     * offline), where the heartbeat function runs so that it reaches the database. null: none
     * given; required by `heartbeat.mode: "function"`.
     */
    network: z
      .strictObject({
        subnetIds: z
          .array(
            z
              .string()
              .regex(/^subnet-[0-9a-f]{8,17}$/, { error: 'expected a subnet id such as "subnet-0abc1234"' }),
          )
          .min(1),
        securityGroupIds: z
          .array(
            z
              .string()
              .regex(/^sg-[0-9a-f]{8,17}$/, { error: 'expected a security group id such as "sg-0abc1234"' }),
          )
          .min(1),
      })
      .nullable()
      .default(null),
    /**
     * The customer-managed KMS key the source instance is encrypted with, and so its automated
     * backups, its snapshots and every drill instance restored from it (a point-in-time restore
     * keeps the source's key). Configured because synth is offline and cannot ask RDS for it: the
     * drill's restore and the snapshot copy may use this one key, through RDS in `source.region`
     * only. null: the source uses the AWS-managed key `aws/rds` (its key policy already lets RDS
     * use it for anyone in the account allowed to call RDS) or is not encrypted, and the drill is
     * given no KMS rights on it.
     */
    kmsKeyArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, {
        error:
          'expected a KMS key ARN such as "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" (not an alias: IAM authorizes the key ARN)',
      })
      .nullable()
      .default(null),
  }),
  isolation: z.strictObject({
    /** Region that holds the isolated copies. Must differ from source.region. */
    copyRegion: region(),
    /** Account that holds the isolated copies; null keeps them in the source account. */
    copyAccountId: z
      .string()
      .regex(ACCOUNT_ID, { error: 'expected a 12-digit AWS account id' })
      .nullable()
      .default(null),
    /**
     * The account the source and the main stack live in. Required with copyAccountId: the copy
     * account's stack copies only the snapshots this account shares with it (a snapshot named
     * like ours shared by anyone else is never adopted), and names this account's copy key.
     */
    sourceAccountId: z
      .string()
      .regex(ACCOUNT_ID, { error: 'expected a 12-digit AWS account id' })
      .nullable()
      .default(null),
    /** KMS key in the copy region; null lets the stack create one there. */
    copyKmsKeyArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:[^:]+:(key|alias)\/.+$/, {
        error: 'expected a KMS key or alias ARN such as "arn:aws:kms:eu-central-1:123456789012:alias/copies"',
      })
      .nullable()
      .default(null),
    /** Export each daily snapshot to the backup bucket as Parquet (for analysis, not restorable). */
    exportToS3: z.boolean().default(false),
    /**
     * Replicate the source's automated backups (daily backups and transaction logs) to copyRegion,
     * with the source's backup retention and the copy key: a point-in-time restore there, minutes
     * behind the source, so losing the source region does not cost the day a snapshot copy costs
     * (the RPO target of an hour cannot hold on daily copies). On by default; ignored when
     * copyRegion is the source's region (RDS replicates to another region only).
     */
    pitrReplication: z.boolean().default(true),
  }),
  targets: z
    .strictObject({
      // Minutes, fractions allowed (a test or a very strict target may want seconds).
      rpoMinutes: z
        .number()
        .positive()
        .max(24 * 60)
        .default(60),
      rtoMinutes: z
        .number()
        .positive()
        .max(24 * 60)
        .default(30),
    })
    .prefault({}),
  retention: z
    .strictObject({
      daily: positiveInt(3650).default(35),
      monthly: z.number().int().min(0).max(1200).default(12),
      maxDeletionsPerRun: z.number().int().min(0).max(1000).default(20),
      /** Plan and report, delete nothing. */
      dryRun: z.boolean().default(false),
    })
    .prefault({}),
  schedules: z
    .strictObject({
      snapshot: schedule().default('cron(0 3 * * ? *)'),
      rpoCheck: schedule().default('rate(15 minutes)'),
      prune: schedule().default('cron(30 4 * * ? *)'),
      drill: schedule().default('cron(0 6 ? 1,4,7,10 MON#1 *)'),
      /**
       * Where the scheduled drills take their data from, in turn (functions/core/drill-rotation.ts):
       * drills are counted by the months `schedules.drill` names, in `timezone`, on from year to
       * year (year × drills per year + n − 1 for the n-th of the year), modulo the list's length.
       * When the length divides the drills per year, the n-th drill of every year takes entry
       * (n − 1) mod length: by default January and July from the source, April and October from
       * the copy region. The choice depends only on the scheduled time: a retried firing picks the same.
       */
      drillFrom: z.array(drillFrom()).min(1).default(['source', 'isolated-region']),
      /** IANA time zone of the cron expressions. */
      timezone: z
        .string()
        .refine(isTimeZone, { error: 'expected an IANA time zone such as "UTC" or "Europe/Zurich"' })
        .default('UTC'),
    })
    .prefault({}),
  backupBucket: z
    .strictObject({
      objectLockMode: z.enum(['GOVERNANCE', 'COMPLIANCE']).default('GOVERNANCE'),
      objectLockDays: positiveInt(36500).default(35),
      noncurrentVersionExpirationDays: positiveInt(36500).default(400),
    })
    .prefault({}),
  notifications: z
    .strictObject({
      emails: z.array(z.email()).default([]),
      slack: z
        .strictObject({
          workspaceId: z
            .string()
            .regex(/^[A-Z0-9]{9,}$/, { error: 'expected a Slack workspace (team) id such as "T0123ABCD"' }),
          channelId: z
            .string()
            .regex(/^[A-Z0-9]{9,}$/, { error: 'expected a Slack channel id such as "C0123ABCD"' }),
        })
        .nullable()
        .default(null),
      webhookUrl: z
        .url({ protocol: /^https$/ })
        .nullable()
        .default(null),
    })
    .prefault({}),
};
