import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../functions/core/config.ts';

const minimal = () => ({
  source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
  isolation: { copyRegion: 'eu-central-1' },
});

function problemsOf(input: unknown) {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('configuration', () => {
  it('fills in the runbook defaults under a minimal file', () => {
    const config = parseConfig(minimal());
    expect(config.targets).toEqual({ rpoMinutes: 60, rtoMinutes: 30 });
    expect(config.retention).toEqual({ daily: 35, monthly: 12, maxDeletionsPerRun: 20, dryRun: false });
    expect(config.schedules.snapshot).toBe('cron(0 3 * * ? *)');
    expect(config.schedules.rpoCheck).toBe('rate(15 minutes)');
    expect(config.schedules.drill).toBe('cron(0 6 ? 1,4,7,10 MON#1 *)');
    expect(config.app.migrateCommand).toBe('npm --workspace apps/api exec prisma migrate deploy');
    expect(config.app.envExample).toBe('apps/api/.env.example');
    expect(config.app.migrationsDir).toBe('apps/api/prisma/migrations');
    expect(config.app.schema).toBe('apps/api/prisma/schema.prisma');
    expect(config.integrity.criticalTables).toEqual(['User', 'Account', 'Transaction', 'AuditLog']);
    expect(config.smoke).toMatchObject({
      healthPath: '/health',
      readyPath: '/health/ready',
      dayCurrentPath: '/api/day/current',
      recoveryEvaluatePath: '/api/admin/ops/recovery-evaluate',
    });
  });

  it('merges a partial section over the defaults', () => {
    const config = parseConfig({ ...minimal(), targets: { rpoMinutes: 15 } });
    expect(config.targets).toEqual({ rpoMinutes: 15, rtoMinutes: 30 });
  });

  it('refuses an unknown key instead of falling back to a default', () => {
    const problems = problemsOf({ ...minimal(), targets: { rpoMinutse: 15 } });
    expect(problems).toEqual([expect.objectContaining({ path: 'targets.rpoMinutse', value: '15' })]);
  });

  it('reports every problem at once with path, value and expectation', () => {
    const problems = problemsOf({
      ...minimal(),
      targets: { rpoMinutes: -5, rtoMinutes: 'soon' },
      retention: { daily: 1.5 },
      notifications: { emails: ['not-an-email'] },
    });
    expect(problems.map((p) => p.path).sort()).toEqual([
      'notifications.emails[0]',
      'retention.daily',
      'targets.rpoMinutes',
      'targets.rtoMinutes',
    ]);
    const rpo = problems.find((p) => p.path === 'targets.rpoMinutes');
    expect(rpo?.value).toBe('-5');
    expect(rpo?.expected).toMatch(/>0/);
  });

  it('names a missing required field', () => {
    const problems = problemsOf({ isolation: { copyRegion: 'eu-central-1' } });
    expect(problems).toEqual([
      expect.objectContaining({ path: 'source', value: expect.stringMatching(/required/) }),
    ]);
  });

  it.each([
    ['cron(0 3 * * *)', /6 fields/],
    ['cron(0 3 * * MON *)', /exactly one of day-of-month and day-of-week/],
    ['cron(61 3 * * ? *)', /minutes field/],
    ['rate(1 hours)', /singular/],
    ['rate(5 minute)', /plural/],
    ['every 15 minutes', /expected "rate/],
  ])('refuses the schedule %s', (expression, why) => {
    const problems = problemsOf({ ...minimal(), schedules: { rpoCheck: expression } });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('schedules.rpoCheck');
    expect(problems[0]?.expected).toMatch(why);
  });

  it.each(['cron(0 6 ? 1,4,7,10 MON#1 *)', 'cron(0/15 * * * ? *)', 'rate(1 hour)', 'cron(30 4 L * ? 2027)'])(
    'accepts the schedule %s',
    (expression) => {
      expect(parseConfig({ ...minimal(), schedules: { prune: expression } }).schedules.prune).toBe(
        expression,
      );
    },
  );

  it('refuses an isolated copy in the source region of the same account', () => {
    const problems = problemsOf({ ...minimal(), isolation: { copyRegion: 'eu-west-1' } });
    expect(problems).toEqual([
      expect.objectContaining({ path: 'isolation.copyRegion', value: '"eu-west-1"' }),
    ]);
  });

  it('refuses a copy key that is no KMS ARN or is of another region than the copies', () => {
    const key = (copyKmsKeyArn: string) =>
      problemsOf({ ...minimal(), isolation: { copyRegion: 'eu-central-1', copyKmsKeyArn } }).map(
        (p) => p.path,
      );
    expect(key('arn:aws:s3:::bucket')).toEqual(['isolation.copyKmsKeyArn']);
    expect(key('arn:aws:kms:us-east-1:123456789012:key/abcd')).toEqual(['isolation.copyKmsKeyArn']);
    expect(
      parseConfig({
        ...minimal(),
        isolation: {
          copyRegion: 'eu-central-1',
          copyKmsKeyArn: 'arn:aws:kms:eu-central-1:123456789012:alias/c',
        },
      }).isolation.copyKmsKeyArn,
    ).toBe('arn:aws:kms:eu-central-1:123456789012:alias/c');
  });

  it("takes the source's customer key by key ARN in source.region, null by default, and refuses an alias or another region", () => {
    expect(parseConfig(minimal()).source.kmsKeyArn).toBeNull();
    const source = (kmsKeyArn: string) => ({ ...minimal(), source: { ...minimal().source, kmsKeyArn } });
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(parseConfig(source(key)).source.kmsKeyArn).toBe(key);
    const alias = problemsOf(source('arn:aws:kms:eu-west-1:123456789012:alias/rds-source'));
    expect(alias).toEqual([
      expect.objectContaining({
        path: 'source.kmsKeyArn',
        value: '"arn:aws:kms:eu-west-1:123456789012:alias/rds-source"',
        expected: expect.stringContaining('not an alias: IAM authorizes the key ARN'),
      }),
    ]);
    const elsewhere = problemsOf(source(key.replace('eu-west-1', 'us-east-1')));
    expect(elsewhere).toEqual([
      expect.objectContaining({
        path: 'source.kmsKeyArn',
        expected: expect.stringContaining('a key in source.region eu-west-1'),
      }),
    ]);
  });

  it('hardens the drill containers by default as uid 1000, and refuses root as app.user', () => {
    const config = parseConfig(minimal());
    expect(config.drill.hardenContainers).toBe(true);
    expect(config.app.user).toBe('1000');
    for (const user of ['1000:1000', 'node', 'node:node', '1000:0']) {
      expect(parseConfig({ ...minimal(), app: { user } }).app.user).toBe(user);
    }
    for (const user of ['0', 'root', '0:0', 'root:1000', '', 'a b']) {
      expect(problemsOf({ ...minimal(), app: { user } }), user).toEqual([
        expect.objectContaining({
          path: 'app.user',
          value: JSON.stringify(user),
          expected: expect.stringContaining('expected a non-root user'),
        }),
      ]);
    }
  });

  it('refuses a schedules time zone that is not an IANA name', () => {
    expect(problemsOf({ ...minimal(), schedules: { timezone: 'Mars/Olympus' } })).toEqual([
      expect.objectContaining({ path: 'schedules.timezone', value: '"Mars/Olympus"' }),
    ]);
  });

  it('refuses an artifact path that climbs out of the app repository', () => {
    const problems = problemsOf({ ...minimal(), app: { schema: '../secrets/schema.prisma' } });
    expect(problems).toEqual([expect.objectContaining({ path: 'app.schema' })]);
  });
});

describe('heartbeat and source.network', () => {
  const network = { subnetIds: ['subnet-0abc1234'], securityGroupIds: ['sg-0abc1234'] };

  it('defaults to no heartbeat in AWS and no source network', () => {
    const config = parseConfig(minimal());
    expect(config.heartbeat).toEqual({
      mode: 'none',
      schedule: 'rate(1 minute)',
      retentionDays: 3,
      secretName: null,
      schema: 'recovery_drill',
    });
    expect(config.source.network).toBeNull();
  });

  it('accepts the function mode with its secret and the source network', () => {
    const config = parseConfig({
      ...minimal(),
      source: { ...minimal().source, network },
      heartbeat: { mode: 'function', secretName: 'bt-cts/heartbeat', retentionDays: 7 },
    });
    expect(config.heartbeat).toMatchObject({
      mode: 'function',
      secretName: 'bt-cts/heartbeat',
      retentionDays: 7,
    });
    expect(config.source.network).toEqual(network);
  });

  it('accepts pg_cron without a secret or a network (the database beats itself)', () => {
    expect(parseConfig({ ...minimal(), heartbeat: { mode: 'pg_cron' } }).heartbeat.mode).toBe('pg_cron');
  });

  it('refuses the function mode without its secret and the source network, naming each missing path', () => {
    const problems = problemsOf({ ...minimal(), heartbeat: { mode: 'function' } });
    expect(problems.map((p) => p.path)).toEqual(['heartbeat.secretName', 'source.network']);
    expect(problems[0]?.expected).toContain('Secrets Manager secret of the heartbeat role');
    expect(problems[1]?.expected).toContain('subnetIds, securityGroupIds');
  });

  it('refuses bad heartbeat and network values, naming the field and the value', () => {
    const problems = problemsOf({
      ...minimal(),
      source: { ...minimal().source, network: { subnetIds: [], securityGroupIds: ['group-1'] } },
      heartbeat: {
        mode: 'lambda',
        schedule: 'every minute',
        retentionDays: 0,
        secretName: 'has spaces',
        schema: 'drop table',
      },
    });
    expect(problems.map((p) => p.path).sort()).toEqual([
      'heartbeat.mode',
      'heartbeat.retentionDays',
      'heartbeat.schedule',
      'heartbeat.schema',
      'heartbeat.secretName',
      'source.network.securityGroupIds[0]',
      'source.network.subnetIds',
    ]);
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    expect(byPath['heartbeat.schema']).toMatchObject({
      value: '"drop table"',
      expected: 'expected a SQL identifier',
    });
    expect(byPath['source.network.securityGroupIds[0]']?.expected).toContain('security group id');
    expect(byPath['heartbeat.secretName']?.value).toBe('"has spaces"');
  });

  it('accepts a secret by ARN and an RDS-managed secret name', () => {
    for (const secretName of [
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bt-cts/heartbeat-AbCdEf',
      'rds!db-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d',
    ]) {
      const config = parseConfig({
        ...minimal(),
        source: { ...minimal().source, network },
        heartbeat: { mode: 'function', secretName },
      });
      expect(config.heartbeat.secretName).toBe(secretName);
    }
  });
});

describe('where drills take their data from (drill.from, schedules.drillFrom)', () => {
  it('defaults to the source by hand and alternates source and the copy region on schedule', () => {
    const config = parseConfig(minimal());
    expect(config.drill.from).toBe('source');
    expect(config.schedules.drillFrom).toEqual(['source', 'isolated-region']);
  });

  it('takes any list of the three origins', () => {
    const config = parseConfig({
      ...minimal(),
      drill: { from: 'isolated-snapshot' },
      schedules: { drillFrom: ['isolated-snapshot', 'source', 'isolated-region', 'source'] },
    });
    expect(config.drill.from).toBe('isolated-snapshot');
    expect(config.schedules.drillFrom).toHaveLength(4);
  });

  it('refuses an unknown origin and an empty list, naming the field and the value', () => {
    const bad = problemsOf({ ...minimal(), drill: { from: 'isolated' } });
    expect(bad).toEqual([expect.objectContaining({ path: 'drill.from', value: '"isolated"' })]);
    const empty = problemsOf({ ...minimal(), schedules: { drillFrom: [] } });
    expect(empty).toEqual([expect.objectContaining({ path: 'schedules.drillFrom' })]);
    const wrong = problemsOf({ ...minimal(), schedules: { drillFrom: ['source', 'elsewhere'] } });
    expect(wrong).toEqual([
      expect.objectContaining({ path: 'schedules.drillFrom[1]', value: '"elsewhere"' }),
    ]);
  });
});
