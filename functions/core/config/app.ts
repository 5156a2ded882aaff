/**
 * The app under test: where its checkout is, how it migrates and starts, and how the smoke and
 * integrity checks talk to it and its tables.
 */
import { z } from 'zod';
import { envName, envVariables, positiveInt, relativePath, SQL_TABLE, sqlTable, urlPath } from './fields.ts';

/** Sections of the configuration, as fields of its root object. */
export const appSections = {
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
      /**
       * The non-root user the app and migrate containers run as in AWS when
       * `drill.hardenContainers` is on (ECS `user`: `uid`, `uid:gid` or a user name the image
       * defines). A numeric uid needs no entry in the image's /etc/passwd; the image's files must
       * be readable by it. `1000` is the `node` user of the official Node.js images.
       */
      user: z
        .string()
        .regex(/^([1-9]\d{0,9}|[a-z_][a-z0-9_-]{0,31})(:(\d{1,10}|[a-z_][a-z0-9_-]{0,31}))?$/, {
          error: 'expected a non-root user: "uid", "uid:gid" or a user name, not 0 or root',
        })
        .refine((user) => !/^root(:|$)/.test(user), {
          error: 'expected a non-root user: "uid", "uid:gid" or a user name, not 0 or root',
        })
        .default('1000'),
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
};
