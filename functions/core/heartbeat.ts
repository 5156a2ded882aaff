/**
 * The heartbeat's SQL, pure (no driver): a one-column table written every minute and trimmed to a
 * few days, so that a drill can prove its restore point by data. The newest beat at or before T in
 * a restored copy is a commit the copy holds: P is at least that beat, so RPO ≤ T − beat.
 *
 * Everything here is text: the setup script the DBA runs (`recovery-drill heartbeat sql`), the
 * statements the writers run (the heartbeat function, the local writer, a pg_cron job), and the
 * query the drill reads the restored copy with. One place spells the table, so every side agrees.
 */
import { InputError } from './errors.ts';

/** The role the heartbeat function logs in as: it may insert into and trim the heartbeat table, nothing else. */
export const HEARTBEAT_ROLE = 'recovery_drill_heartbeat';
/** The table's name inside the configured schema. */
export const HEARTBEAT_TABLE = 'heartbeat';
/** The pg_cron job's name (`cron.schedule_in_database` updates a job of the same name and user in place). */
export const PG_CRON_JOB_NAME = 'recovery-drill-heartbeat';
/** The schema when the configuration names none (`heartbeat.schema`). */
export const DEFAULT_HEARTBEAT_SCHEMA = 'recovery_drill';

/** A Secrets Manager secret by name (RDS-managed ones start with `rds!`) or by ARN (`heartbeat.secretName`). */
export const SECRET_ID_PATTERN =
  /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@!-]{1,512}$/;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What every heartbeat statement needs: where the table is and how long beats are kept. */
export interface HeartbeatTableOptions {
  /** Schema of the table (`heartbeat.schema`): a plain SQL identifier, at most 63 characters. */
  readonly schema: string;
  /** Beats older than this many days are trimmed at each write (`heartbeat.retentionDays`, 1 to 365). */
  readonly retentionDays: number;
}

function checkSchema(schema: string): void {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema) || schema.length > 63)
    throw new InputError(
      'heartbeat.schema',
      schema,
      'expected a SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63)',
    );
}

function checkRetention(days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > 365)
    throw new InputError('heartbeat.retentionDays', days, 'expected an integer from 1 to 365');
}

/** Quotes an identifier the way PostgreSQL does (`"name"`), so the schema keeps its case. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal (`'text'`). */
function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * The table's qualified, quoted name, e.g. `"recovery_drill"."heartbeat"`.
 * @throws InputError naming `heartbeat.schema` when it is not a plain identifier.
 */
export function heartbeatTableName(schema: string): string {
  checkSchema(schema);
  return `${quoteIdentifier(schema)}.${quoteIdentifier(HEARTBEAT_TABLE)}`;
}

/**
 * The schema and the table, idempotent: what the owner runs (the local writer runs it at start;
 * the DBA's script and the pg_cron script begin with it).
 */
export function heartbeatTableSql(schema: string): string {
  const table = heartbeatTableName(schema);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)};`,
    `CREATE TABLE IF NOT EXISTS ${table} (at timestamptz PRIMARY KEY);`,
    `COMMENT ON TABLE ${table} IS ${quoteLiteral(
      'recovery-drill heartbeat: one row per beat, trimmed to a few days. A restored copy holds every beat up to its restore point.',
    )};`,
  ].join('\n');
}

/**
 * The setup script for the DBA, idempotent (run it again at any time): the schema, the table, and
 * the role `recovery_drill_heartbeat` (NOLOGIN: the DBA gives it a password and LOGIN) with exactly
 * what the heartbeat needs. PostgreSQL requires SELECT on every column a statement reads: the
 * trim's `DELETE … WHERE at < …`, the insert's `ON CONFLICT (at)` and its `RETURNING at` all read
 * `at`. So SELECT on `at`, the only column, and no other privilege.
 */
export function heartbeatSetupSql(options: HeartbeatTableOptions): string {
  const table = heartbeatTableName(options.schema);
  checkRetention(options.retentionDays);
  const schema = quoteIdentifier(options.schema);
  const role = quoteIdentifier(HEARTBEAT_ROLE);
  const statements = heartbeatStatements(options);
  return [
    '-- recovery-drill heartbeat: setup for the DBA. Idempotent: safe to run again at any time.',
    '-- Run it as the owner of the application database (on RDS: the master user), connected to the',
    '-- database the app uses (its tables and the heartbeat must be in the same restored copy).',
    'BEGIN;',
    heartbeatTableSql(options.schema),
    '-- Nobody but the owner and the heartbeat role touches the table.',
    `REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC;`,
    `REVOKE ALL ON TABLE ${table} FROM PUBLIC;`,
    '-- The role is created without LOGIN: the DBA gives it a password and LOGIN (below).',
    'DO $heartbeat_role$',
    'BEGIN',
    `  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(HEARTBEAT_ROLE)}) THEN`,
    `    CREATE ROLE ${role} NOLOGIN;`,
    '  END IF;',
    'END',
    '$heartbeat_role$;',
    '-- Insert a beat, trim old ones. SELECT on "at" because the trim\'s WHERE and ON CONFLICT (at) read it.',
    `GRANT USAGE ON SCHEMA ${schema} TO ${role};`,
    `GRANT INSERT, DELETE ON TABLE ${table} TO ${role};`,
    `GRANT SELECT (at) ON TABLE ${table} TO ${role};`,
    'COMMIT;',
    '',
    '-- Then, once (not part of this script, so that running it again never resets a password):',
    `--   ALTER ROLE ${role} WITH LOGIN PASSWORD '<a new random password>';`,
    '-- and store {"username", "password", "host", "port", "dbname"} as a Secrets Manager secret',
    '-- (heartbeat.secretName). On PostgreSQL 14 and older also consider',
    '-- REVOKE CREATE ON SCHEMA public FROM PUBLIC (the default since 15), or every role may create tables there.',
    '',
    `-- What the heartbeat runs at every beat, as ${HEARTBEAT_ROLE} (retention ${options.retentionDays} days):`,
    `--   ${statements.insert}`,
    `--   ${statements.trim}`,
  ].join('\n');
}

/** The write and the trim as plain statements (server time, no parameters): for the DBA and pg_cron. */
export function heartbeatStatements(options: HeartbeatTableOptions): { insert: string; trim: string } {
  const table = heartbeatTableName(options.schema);
  checkRetention(options.retentionDays);
  return {
    insert: `INSERT INTO ${table} (at) VALUES (now()) ON CONFLICT (at) DO NOTHING;`,
    trim: `DELETE FROM ${table} WHERE at < now() - interval '${options.retentionDays} days';`,
  };
}

/**
 * The parameterised statements the writers and the drill's reader run.
 * - `insert`: `$1` the beat's time, or null for the server's `now()`; returns `at` unless a beat
 *   of that exact time existed.
 * - `trim`: `$1` the beat's time, `$2` the retention in days; deletes what is older.
 * - `newest`: `$1` T; the newest beat at or before it and how many there are.
 * - `exists`: whether the table exists (no parameter).
 */
export function heartbeatQueries(schema: string): {
  insert: string;
  trim: string;
  newest: string;
  exists: string;
} {
  const table = heartbeatTableName(schema);
  return {
    insert: `INSERT INTO ${table} (at) VALUES (COALESCE($1::timestamptz, now())) ON CONFLICT (at) DO NOTHING RETURNING at`,
    trim: `DELETE FROM ${table} WHERE at < $1::timestamptz - make_interval(days => $2::int)`,
    newest: `SELECT max(at) AS newest, count(*)::int AS count FROM ${table} WHERE at <= $1::timestamptz`,
    exists: `SELECT to_regclass(${quoteLiteral(table)}) IS NOT NULL AS present`,
  };
}

/**
 * The configured EventBridge schedule as a pg_cron schedule (standard 5-field cron, UTC by
 * default), so the pg_cron job beats as often as the function would.
 * @throws InputError naming `heartbeat.schedule` when pg_cron cannot express it exactly.
 */
export function pgCronSchedule(expression: string): string {
  const refuse = (why: string): never => {
    throw new InputError('heartbeat.schedule', expression, `pg_cron cannot run this schedule: ${why}`);
  };
  const rate = /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const minutes = (rate[2] ?? '').startsWith('minute');
    if (minutes) {
      if (n === 1) return '* * * * *';
      if (n < 60 && 60 % n === 0) return `*/${n} * * * *`;
      return refuse(`a rate in minutes must divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30); got ${n}`);
    }
    if (n === 1) return '0 * * * *';
    if (n < 24 && 24 % n === 0) return `0 */${n} * * *`;
    return refuse(`a rate in hours must divide a day; got ${n}`);
  }
  const cron = /^cron\(([^)]*)\)$/.exec(expression);
  if (!cron) return refuse('expected rate(N minutes), rate(N hours) or cron(...)');
  const [minute, hour, dayOfMonth, month, dayOfWeek, year] = (cron[1] ?? '').trim().split(/\s+/);
  // Numbers, ranges, lists and steps of "*" or of a range: what pg_cron reads as EventBridge does.
  const part = /^(?:\*|\d+-\d+)\/\d+$|^\*$|^\d+(?:-\d+)?$/;
  const plain = { test: (field: string) => field.split(',').every((p) => part.test(p)) };
  if (year !== '*') return refuse('the year field must be "*"');
  if (dayOfWeek !== '?' && dayOfWeek !== '*')
    return refuse('a day-of-week field is numbered differently in pg_cron: use "?" and a day of month');
  for (const field of [minute, hour, dayOfMonth === '?' ? '*' : dayOfMonth, month]) {
    if (field === undefined || !plain.test(field))
      return refuse(
        `only numbers, ranges, lists, "*" and steps of "*" or a range (*/N, A-B/N) carry over; got "${field}"`,
      );
  }
  return `${minute} ${hour} ${dayOfMonth === '?' ? '*' : dayOfMonth} ${month} *`;
}

/** What the pg_cron script needs beyond the table. */
export interface PgCronOptions extends HeartbeatTableOptions {
  /** `heartbeat.schedule` (EventBridge form; converted with {@link pgCronSchedule}). */
  readonly schedule: string;
  /** The application database the job writes into (pg_cron itself lives in `cron.database_name`). */
  readonly database: string;
}

/**
 * The pg_cron alternative, which needs no function: on RDS, `pg_cron` in the parameter group's
 * `shared_preload_libraries`, the extension created in `cron.database_name` (`postgres` by
 * default), and one job scheduled from there into the application database. The job runs as the
 * user who schedules it (the master user), so no heartbeat role is needed.
 */
export function heartbeatPgCronSql(options: PgCronOptions): string {
  const statements = heartbeatStatements(options);
  const schedule = pgCronSchedule(options.schedule);
  if (typeof options.database !== 'string' || options.database.length === 0 || options.database.length > 63)
    throw new InputError('database', options.database, 'expected the name of the application database');
  const command = `${statements.insert} ${statements.trim}`;
  return [
    '-- recovery-drill heartbeat with pg_cron: no function, the database beats itself. Idempotent.',
    '-- Needs pg_cron loaded: on RDS add it to shared_preload_libraries in the DB parameter group and reboot.',
    '',
    `-- 1. Connected to the application database ${quoteIdentifier(options.database)}, as its owner (the master user):`,
    'BEGIN;',
    heartbeatTableSql(options.schema),
    'COMMIT;',
    '',
    '-- 2. Connected to the database pg_cron lives in (the cron.database_name parameter; "postgres" on RDS by default),',
    `--    as the master user. The job runs as that user, in ${quoteIdentifier(options.database)}, ${schedule === '* * * * *' ? 'every minute' : `at "${schedule}"`} (pg_cron's clock: cron.timezone, GMT by default).`,
    '--    Scheduling again under the same name updates the job in place.',
    'CREATE EXTENSION IF NOT EXISTS pg_cron;',
    'SELECT cron.schedule_in_database(',
    `  ${quoteLiteral(PG_CRON_JOB_NAME)},`,
    `  ${quoteLiteral(schedule)},`,
    `  $heartbeat_job$${command}$heartbeat_job$,`,
    `  ${quoteLiteral(options.database)}`,
    ');',
    '',
    '-- Check it runs: SELECT status, return_message, start_time FROM cron.job_run_details',
    `--   WHERE jobid = (SELECT jobid FROM cron.job WHERE jobname = ${quoteLiteral(PG_CRON_JOB_NAME)}) ORDER BY start_time DESC LIMIT 5;`,
    `-- Stop it: SELECT cron.unschedule(${quoteLiteral(PG_CRON_JOB_NAME)});`,
  ].join('\n');
}

/** The local engine's writer beats once a minute (`functions/local/heartbeat-process.ts`). */
export const LOCAL_HEARTBEAT_INTERVAL_MINUTES = 1;

/**
 * The longest gap between two beats a drill allows for, in minutes: the interval of a
 * `rate(N minutes|hours)` schedule; a `cron(...)` schedule is taken as every minute (the default
 * and pg_cron's finest), so a slower cron schedule should be written as a rate.
 */
export function heartbeatIntervalMinutes(schedule: string): number {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule);
  if (!rate) return 1;
  const n = Number(rate[1]);
  const unit = rate[2] ?? '';
  return unit.startsWith('minute') ? n : unit.startsWith('hour') ? n * 60 : n * 1440;
}
