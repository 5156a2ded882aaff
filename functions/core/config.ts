/**
 * The one configuration of recovery-drill: its schema, the runbook's values as defaults, and
 * validation that reports every problem at once with the field path, the value and what was
 * expected. Pure: reading the file is `functions/shared/config-file.ts`'s job.
 */
import { z } from 'zod';
import { SECRET_ID_PATTERN } from './heartbeat.ts';
import { scheduleExpressionProblem } from './schedule.ts';

const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const ACCOUNT_ID = /^\d{12}$/;
const DB_IDENTIFIER = /^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/;
const SQL_TABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const region = () => z.string().regex(AWS_REGION, { error: 'expected an AWS region such as "eu-west-1"' });

const relativePath = () =>
  z
    .string()
    .min(1)
    .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), {
      error: 'expected a path relative to app.repoPath, without ".."',
    });

const urlPath = () => z.string().regex(/^\/[^\s]*$/, { error: 'expected a URL path starting with "/"' });

const schedule = () =>
  z.string().superRefine((value, ctx) => {
    const problem = scheduleExpressionProblem(value);
    if (problem)
      ctx.addIssue({ code: 'custom', message: `expected an EventBridge schedule expression: ${problem}` });
  });

const sqlTable = () => z.string().regex(SQL_TABLE, { error: 'expected a SQL table name' });

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = () => z.string().regex(ENV_NAME, { error: 'expected an environment variable name' });
/** Names the drill sets itself: a configured value would be silently overridden, so it is refused. */
const RESERVED_ENV = new Set(['DATABASE_URL', 'PORT']);
const envVariables = () =>
  z.record(z.string(), z.string()).superRefine((env, ctx) => {
    for (const name of Object.keys(env)) {
      if (!ENV_NAME.test(name))
        ctx.addIssue({ code: 'custom', path: [name], message: 'expected an environment variable name' });
      else if (RESERVED_ENV.has(name))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `${name} is set by the drill itself and cannot be configured`,
        });
    }
  });

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const positiveInt = (max?: number) => {
  const base = z.number().int().positive();
  return max === undefined ? base : base.max(max);
};

export const configSchema = z.strictObject({
  /** Shown in every escalation subject so on-call knows which deployment speaks. */
  environment: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/)
    .default('production'),
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
  app: z
    .strictObject({
      /** Checkout of the BT-CTS repository, relative to this config file or absolute. */
      repoPath: z.string().min(1).default('.'),
      envExample: relativePath().default('apps/api/.env.example'),
      migrationsDir: relativePath().default('apps/api/prisma/migrations'),
      schema: relativePath().default('apps/api/prisma/schema.prisma'),
      migrateCommand: z.string().min(1).default('npm --workspace apps/api exec prisma migrate deploy'),
      /**
       * Command that starts the API (locally a child process, in AWS the container's command). The
       * default is BT-CTS's own dev entry: its `npm start` does not run as the repository stands.
       */
      startCommand: z.string().min(1).default('npm --workspace apps/api exec -- tsx src/index.ts'),
      /**
       * Extra environment for the app's commands (migrate, start, a local source's seed), for
       * example `SESSION_SECRET`. `DATABASE_URL` and `PORT` are set by the drill and cannot be given here.
       */
      env: envVariables().default({}),
      /** Container image of the app for the ECS migrate and app tasks; null means drills use stagingBaseUrl. */
      image: z.string().min(1).nullable().default(null),
      /** The port the app listens on (`PORT`); as BT-CTS's `.env.example`. Locally a free port is taken when it is busy. */
      port: positiveInt(65535).default(4000),
      /** Smoke-test this URL instead of starting the app. */
      stagingBaseUrl: z.url().nullable().default(null),
    })
    .prefault({}),
  smoke: z
    .strictObject({
      healthPath: urlPath().default('/health'),
      readyPath: urlPath().default('/health/ready'),
      loginPath: urlPath().default('/api/auth/login'),
      /** The search term is appended to this path, URL-encoded. */
      accountSearchPath: urlPath().default('/api/accounts/search?q='),
      dayCurrentPath: urlPath().default('/api/day/current'),
      recoveryEvaluatePath: urlPath().default('/api/admin/ops/recovery-evaluate'),
      /** How long /health/ready may answer non-200 after the app started before READY_NOT_OK. */
      readyBudgetSeconds: positiveInt(3600).default(120),
      adminUsername: z.string().min(1).default('admin'),
      /**
       * How the app keeps the admin's session after login: a cookie jar (`connect.sid`, the
       * default, as BT-CTS), or a bearer token read from the login answer's `tokenField`.
       */
      auth: z
        .discriminatedUnion('kind', [
          z.strictObject({ kind: z.literal('cookie') }),
          z.strictObject({
            kind: z.literal('bearer'),
            tokenField: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
                error: 'expected the name of a field of the login answer',
              })
              .default('token'),
          }),
        ])
        .default({ kind: 'cookie' }),
      /**
       * GET right after the login with its session, proving the app kept it: BT-CTS answers the login
       * 200 with a cookie even when its session store refused the write (express-session saves after
       * the answer). null: the login's 200 alone is taken as proof.
       */
      sessionCheckPath: urlPath().nullable().default('/api/auth/me'),
      /** Variables a local source's seed reads the admin's username and password from (BT-CTS `.env.example`). */
      adminUsernameEnv: envName().default('ADMIN_USERNAME'),
      adminPasswordEnv: envName().default('ADMIN_PASSWORD'),
      /**
       * Secrets Manager secret (name or ARN) holding the admin password for the login check in AWS.
       * null: AWS drills fail the login check with a clear message; local drills use the local
       * source's generated admin password.
       */
      adminPasswordSecret: z.string().min(1).nullable().default(null),
      accountSearchTerm: z
        .string()
        .min(1, { error: 'expected a non-empty search term (BT-CTS answers 400 MISSING_QUERY)' })
        .default('a'),
      /** Fewest accounts the search must list; 0 accepts an empty list (BT-CTS lists only accounts loaded today). */
      accountSearchMinResults: z.number().int().min(0).max(50).default(0),
      /** The session store's table (connect-pg-simple's default): `ready-503` and `login-failure` break its writes. */
      sessionTable: sqlTable().default('session'),
      /** The table behind the account search: `search-failure` breaks it. */
      accountSearchTable: sqlTable().default('Account'),
      /** The table behind the day-state read: `day-read-failure` breaks it. */
      dayStateTable: sqlTable().default('DayCycle'),
    })
    .prefault({}),
  integrity: z
    .strictObject({
      criticalTables: z.array(sqlTable()).min(1).default(['User', 'Account', 'Transaction', 'AuditLog']),
      /** Column holding each row's creation time (Prisma's convention), for the check that no row is after T. */
      timestampColumn: z
        .string()
        .regex(SQL_TABLE, { error: 'expected a SQL column name' })
        .default('createdAt'),
    })
    .prefault({}),
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
      /** Overall limit of one drill execution. */
      timeoutMinutes: positiveInt(24 * 60).default(120),
      /** How long the restored instance may take to become available before RESTORE_FAILED. */
      restoreTimeoutMinutes: positiveInt(24 * 60).default(90),
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
  local: z
    .strictObject({
      /** Where the local engine keeps clusters, backups, WAL and reports (relative to the config file). */
      stateDir: z.string().min(1).default('.recovery-drill'),
      /** Bounds the local RPO, as RDS's 5-minute log upload does in AWS. */
      archiveTimeoutSeconds: positiveInt(3600).default(60),
      /** A local drill takes a fresh backup first when the newest is older than this. */
      backupMaxAgeHours: positiveInt(24 * 35).default(24),
      /**
       * The database that plays production locally: `"example"` (the example app's schema, seed and
       * trickle writer), or your own app: an empty cluster, then `app.migrateCommand` and
       * `seedCommand` in `app.repoPath`, and `trafficCommand` (if any) writing while the source runs.
       */
      source: z
        .preprocess(
          // `"example"` is shorthand for `{ "kind": "example" }`.
          (value) => (value === 'example' ? { kind: 'example' } : value),
          z.discriminatedUnion('kind', [
            z.strictObject({ kind: z.literal('example') }),
            z.strictObject({
              kind: z.literal('app'),
              seedCommand: z.string().min(1),
              /** Extra environment for the seed and traffic commands (beside `app.env`). */
              env: envVariables().default({}),
              trafficCommand: z.string().min(1).nullable().default(null),
            }),
          ]),
        )
        .default({ kind: 'example' }),
      /** Local backups kept by the project's retention planner; archived WAL older than the oldest kept backup is removed. */
      retention: z
        .strictObject({
          daily: positiveInt(3650).default(7),
          monthly: z.number().int().min(0).max(1200).default(0),
        })
        .prefault({}),
    })
    .prefault({}),
});

/** Configuration as written in `recovery-drill.config.json`: every field with a default may be left out. */
export type ConfigInput = z.input<typeof configSchema>;
/** Configuration after defaults: every field present. */
export type Config = z.output<typeof configSchema>;

/** One problem in a configuration, with enough to fix it without reading the code. */
export interface ConfigProblem {
  /** Dotted path of the field, e.g. `targets.rpoMinutes`. */
  readonly path: string;
  /** The value found, as JSON (`undefined` when the field was missing). */
  readonly value: string;
  /** What was expected. */
  readonly expected: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], source = 'configuration', options?: ErrorOptions) {
    super(
      `${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems
        .map((p) => `  - ${p.path}: ${p.expected}; got ${p.value}`)
        .join('\n')}`,
      options,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc === '' ? String(key) : `${acc}.${String(key)}`;
  }, '');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing (the field is required)';
  const json = JSON.stringify(value);
  return json.length > 120 ? `${json.slice(0, 117)}...` : json;
}

/**
 * Cross-field rules that a field-by-field schema cannot express. Each rule runs when the sections
 * it reads are present, so a construct's slice of the configuration is held to the same rules.
 */
function crossFieldProblems(config: Partial<Config>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { isolation, source, drill, heartbeat } = config;
  if (isolation && source && isolation.copyRegion === source.region && isolation.copyAccountId === null) {
    problems.push({
      path: 'isolation.copyRegion',
      value: show(isolation.copyRegion),
      expected:
        'a region other than source.region (or a copyAccountId): a copy beside the original is not isolated',
    });
  }
  const keyRegion = isolation?.copyKmsKeyArn
    ? /^arn:[^:]+:kms:([a-z0-9-]+):/.exec(isolation.copyKmsKeyArn)?.[1]
    : undefined;
  if (isolation && keyRegion !== undefined && keyRegion !== isolation.copyRegion) {
    problems.push({
      path: 'isolation.copyKmsKeyArn',
      value: show(isolation.copyKmsKeyArn),
      expected: `a key in isolation.copyRegion ${isolation.copyRegion} (RDS encrypts a copy with a key of the copy's region)`,
    });
  }
  if (drill && drill.restoreTimeoutMinutes >= drill.timeoutMinutes) {
    problems.push({
      path: 'drill.restoreTimeoutMinutes',
      value: show(drill.restoreTimeoutMinutes),
      expected: `less than drill.timeoutMinutes (${drill.timeoutMinutes}), so a slow restore is reported and cleaned up`,
    });
  }
  if (heartbeat?.mode === 'function') {
    if (heartbeat.secretName === null) {
      problems.push({
        path: 'heartbeat.secretName',
        value: show(null),
        expected:
          'the Secrets Manager secret of the heartbeat role (heartbeat.mode "function" connects with it)',
      });
    }
    if (source && source.network === null) {
      problems.push({
        path: 'source.network',
        value: show(null),
        expected:
          '{ subnetIds, securityGroupIds } of the source database\'s network (heartbeat.mode "function" runs there to reach it)',
      });
    }
  }
  const network = drill?.network;
  if (network && network.subnetIds.length % network.availabilityZones.length !== 0) {
    problems.push({
      path: 'drill.network.subnetIds',
      value: show(network.subnetIds),
      expected: `one subnet per availability zone (${network.availabilityZones.length} zones listed), in the same order`,
    });
  }
  return problems;
}

function issueProblems(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({
          path: formatPath([...path, key]),
          value: show(valueAt(input, [...issue.path, key])),
          expected: 'no such setting (unknown keys are refused so that a typo never falls back to a default)',
        });
      }
      continue;
    }
    problems.push({
      path: formatPath(path),
      value: show(valueAt(input, issue.path)),
      expected: issue.message,
    });
  }
  return problems;
}

/**
 * Checks the sections of a configuration a construct is given, against the same schema and
 * cross-field rules as {@link parseConfig}: a construct built from a hand-made configuration is
 * refused with the config path (`retention.daily`), not a construct prop.
 * @throws ConfigError listing every problem at once.
 */
export function checkConfigSections<S extends keyof Config>(
  config: Pick<Config, S>,
  sections: readonly S[],
  source = 'configuration',
): void {
  const problems: ConfigProblem[] = [];
  for (const section of sections) {
    const value = (config as Record<string, unknown>)[section];
    const result = configSchema.shape[section].safeParse(value, { reportInput: true });
    if (!result.success) problems.push(...issueProblems(result.error.issues, value, [section]));
  }
  if (problems.length === 0) problems.push(...crossFieldProblems(config as Partial<Config>));
  if (problems.length > 0) throw new ConfigError(problems, source);
}

/**
 * Validates a parsed configuration document and merges it over the defaults.
 * @throws ConfigError listing every problem at once.
 */
export function parseConfig(input: unknown, source?: string): Config {
  const result = configSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ConfigError(issueProblems(result.error.issues, input), source);
  const problems = crossFieldProblems(result.data);
  if (problems.length > 0) throw new ConfigError(problems, source);
  return result.data;
}
