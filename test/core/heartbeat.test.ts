import { describe, expect, it } from 'vitest';
import { InputError } from '../../functions/core/errors.ts';
import {
  HEARTBEAT_ROLE,
  heartbeatPgCronSql,
  heartbeatQueries,
  heartbeatSetupSql,
  heartbeatStatements,
  heartbeatTableName,
  PG_CRON_JOB_NAME,
  pgCronSchedule,
} from '../../functions/core/heartbeat.ts';

describe('heartbeat SQL text', () => {
  it('quotes the schema so its case is kept, and spells the table the same everywhere', () => {
    expect(heartbeatTableName('Recovery_Drill')).toBe('"Recovery_Drill"."heartbeat"');
    const queries = heartbeatQueries('Recovery_Drill');
    for (const sql of Object.values(queries)) expect(sql).toContain('"Recovery_Drill"."heartbeat"');
    expect(queries.exists).toBe(`SELECT to_regclass('"Recovery_Drill"."heartbeat"') IS NOT NULL AS present`);
  });

  it('writes now() with ON CONFLICT DO NOTHING and trims by the retention in days', () => {
    expect(heartbeatStatements({ schema: 'recovery_drill', retentionDays: 5 })).toEqual({
      insert: 'INSERT INTO "recovery_drill"."heartbeat" (at) VALUES (now()) ON CONFLICT (at) DO NOTHING;',
      trim: `DELETE FROM "recovery_drill"."heartbeat" WHERE at < now() - interval '5 days';`,
    });
  });

  it('creates the role without LOGIN, guarded so that the script runs again, and grants no more than needed', () => {
    const sql = heartbeatSetupSql({ schema: 'recovery_drill', retentionDays: 3 });
    expect(sql).toContain(`CREATE ROLE "${HEARTBEAT_ROLE}" NOLOGIN;`);
    expect(sql).toContain(
      `IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '${HEARTBEAT_ROLE}')`,
    );
    expect(sql).toContain('CREATE SCHEMA IF NOT EXISTS "recovery_drill";');
    expect(sql).toContain(
      'CREATE TABLE IF NOT EXISTS "recovery_drill"."heartbeat" (at timestamptz PRIMARY KEY);',
    );
    const grants = sql.split('\n').filter((line) => line.startsWith('GRANT'));
    expect(grants).toEqual([
      `GRANT USAGE ON SCHEMA "recovery_drill" TO "${HEARTBEAT_ROLE}";`,
      `GRANT INSERT, DELETE ON TABLE "recovery_drill"."heartbeat" TO "${HEARTBEAT_ROLE}";`,
      `GRANT SELECT (at) ON TABLE "recovery_drill"."heartbeat" TO "${HEARTBEAT_ROLE}";`,
    ]);
    // The password is the DBA's: the script never sets one (running it again must not reset it).
    expect(sql.split('\n').filter((line) => /PASSWORD/.test(line) && !line.startsWith('--'))).toEqual([]);
  });

  it('refuses a schema that is not a plain identifier and a retention out of range, naming the field', () => {
    for (const schema of ['', 'two words', 'x"y', '1abc', 'a'.repeat(64)]) {
      expect(() => heartbeatTableName(schema)).toThrow(InputError);
      expect(() => heartbeatTableName(schema)).toThrow(/^heartbeat\.schema: expected a SQL identifier/);
    }
    expect(() => heartbeatStatements({ schema: 'ok', retentionDays: 0 })).toThrow(
      /^heartbeat\.retentionDays: expected an integer from 1 to 365; got 0/,
    );
    expect(() => heartbeatSetupSql({ schema: 'ok', retentionDays: 1.5 })).toThrow(/heartbeat\.retentionDays/);
  });
});

describe('pg_cron alternative', () => {
  it('turns the EventBridge schedule into a pg_cron one', () => {
    expect(pgCronSchedule('rate(1 minute)')).toBe('* * * * *');
    expect(pgCronSchedule('rate(5 minutes)')).toBe('*/5 * * * *');
    expect(pgCronSchedule('rate(1 hour)')).toBe('0 * * * *');
    expect(pgCronSchedule('rate(6 hours)')).toBe('0 */6 * * *');
    expect(pgCronSchedule('cron(* * * * ? *)')).toBe('* * * * *');
    expect(pgCronSchedule('cron(*/2 8-18 ? * * *)')).toBe('*/2 8-18 * * *');
    expect(pgCronSchedule('cron(0,30 0-12/2 1-15 1,7 ? *)')).toBe('0,30 0-12/2 1-15 1,7 *');
  });

  it('refuses what pg_cron cannot run exactly, naming heartbeat.schedule', () => {
    for (const expression of [
      'rate(7 minutes)',
      'rate(5 hours)',
      'rate(1 day)',
      'cron(0 6 ? * MON *)',
      'cron(0 6 * * ? 2027)',
      'cron(0 6 L * ? *)',
    ]) {
      expect(() => pgCronSchedule(expression), expression).toThrow(
        /^heartbeat\.schedule: pg_cron cannot run this schedule/,
      );
    }
  });

  it('schedules one named job from the cron database into the application database, insert and trim together', () => {
    const sql = heartbeatPgCronSql({
      schema: 'recovery_drill',
      retentionDays: 3,
      schedule: 'rate(1 minute)',
      database: 'btcts',
    });
    expect(sql).toContain('CREATE EXTENSION IF NOT EXISTS pg_cron;');
    expect(sql).toContain(
      [
        'SELECT cron.schedule_in_database(',
        `  '${PG_CRON_JOB_NAME}',`,
        `  '* * * * *',`,
        `  $heartbeat_job$INSERT INTO "recovery_drill"."heartbeat" (at) VALUES (now()) ON CONFLICT (at) DO NOTHING; DELETE FROM "recovery_drill"."heartbeat" WHERE at < now() - interval '3 days';$heartbeat_job$,`,
        `  'btcts'`,
        ');',
      ].join('\n'),
    );
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "recovery_drill"."heartbeat"');
    expect(sql).toContain('shared_preload_libraries');
    // No role is needed: the job runs as the user who scheduled it.
    expect(sql).not.toContain('CREATE ROLE');
    expect(() =>
      heartbeatPgCronSql({ schema: 'x', retentionDays: 3, schedule: 'rate(1 minute)', database: '' }),
    ).toThrow(/^database: expected the name of the application database/);
  });
});
