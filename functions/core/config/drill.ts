/**
 * The drill in AWS (its instance, limits and network) and the heartbeat that proves its restore point by data.
 */
import { z } from 'zod';
import { SECRET_ID_PATTERN } from '../heartbeat.ts';
import { drillFrom, positiveInt, SQL_TABLE, schedule } from './fields.ts';

/** Sections of the configuration, as fields of its root object. */
export const drillSections = {
  drill: z
    .strictObject({
      /** Every drill instance name starts with this; cleanup refuses anything else. */
      instancePrefix: z
        .string()
        .regex(/^[a-z][a-z0-9-]{0,30}$/)
        .default('recovery-drill'),
      instanceClass: z
        .string()
        .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/)
        .default('db.t4g.medium'),
      /**
       * Where a drill started by hand without `--from` takes its data from (`source`,
       * `isolated-region`, `isolated-snapshot`); scheduled drills follow `schedules.drillFrom`.
       */
      from: drillFrom().default('source'),
      /** Overall limit of one drill execution. */
      timeoutMinutes: positiveInt(24 * 60).default(120),
      /** How long the restored instance may take to become available before RESTORE_FAILED. */
      restoreTimeoutMinutes: positiveInt(24 * 60).default(90),
      /**
       * The app and migrate containers run as `app.user` (not root) with a read-only root
       * filesystem and a writable temporary volume at /tmp (`HOME` and `TMPDIR` point there): the
       * production image, on a copy of production data, cannot change its own files. Turn it off
       * only for an image that must write outside /tmp (a build step at start, such as a `prestart`
       * that generates code into node_modules, an upload or archive folder in the image) or that
       * cannot run as a non-root user.
       */
      hardenContainers: z.boolean().default(true),
      /**
       * Existing private subnets for the drill instance, the ECS tasks and the checks function
       * (imported by id: synth stays offline). null: the stack creates an isolated drill VPC.
       */
      network: z
        .strictObject({
          vpcId: z
            .string()
            .regex(/^vpc-[0-9a-f]{8,17}$/, { error: 'expected a VPC id such as "vpc-0abc1234"' }),
          availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/)).min(2),
          subnetIds: z
            .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: 'expected a subnet id' }))
            .min(2),
          /**
           * How the drill reaches AWS from these subnets. `create`: the stack creates the
           * interface endpoints the drill uses (Secrets Manager, ECR API and registry, CloudWatch
           * Logs, RDS, X-Ray) in them, each with a policy that lets through only what the drill
           * uses, at a standing cost (one endpoint-hour per endpoint and zone). `existing`: the
           * network's own routes (a NAT gateway, or endpoints of its own with private DNS; their
           * policies are yours), no cost added by the stack; pick it too when the VPC already has
           * endpoints with private DNS for these services (a second one cannot be created).
           */
          endpoints: z.enum(['create', 'existing']).default('create'),
        })
        .nullable()
        .default(null),
    })
    .prefault({}),
  /**
   * A tiny table written every minute in the source (`<schema>.heartbeat`), so that a drill proves
   * its restore point by data: the newest heartbeat at or before T in the restored copy is a lower
   * bound of P. The local engine always writes one beside its source; in AWS it is opt-in.
   */
  heartbeat: z
    .strictObject({
      /**
       * Who writes the heartbeat in AWS: `none` (drills report the engine's RPO only), `function`
       * (a scheduled Lambda in `source.network`, as the role in `secretName`), or `pg_cron` (a job
       * in the database itself, set up by the DBA with `recovery-drill heartbeat sql --pg-cron`).
       */
      mode: z.enum(['none', 'function', 'pg_cron']).default('none'),
      /** How often the function writes a beat (EventBridge expression; the pg_cron job follows it too). */
      schedule: schedule().default('rate(1 minute)'),
      /** Beats older than this are trimmed at every write: the table stays a few thousand rows. */
      retentionDays: positiveInt(365).default(3),
      /**
       * Secrets Manager secret (name or full ARN) of the heartbeat role, a JSON object
       * `{username, password, host, port, dbname}` as RDS secrets hold. Required by mode `function`.
       */
      secretName: z
        .string()
        .regex(SECRET_ID_PATTERN, { error: 'expected a Secrets Manager secret name or ARN' })
        .nullable()
        .default(null),
      /** Schema of the heartbeat table, apart from the app's own tables. */
      schema: z
        .string()
        .regex(SQL_TABLE, { error: 'expected a SQL identifier' })
        .max(63)
        .default('recovery_drill'),
    })
    .prefault({}),
};
