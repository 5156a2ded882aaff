import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config.ts';
import { buildApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/function.ts';
import {
  appFiles,
  makeApp,
  makeConfig,
  makeTree,
  type Outcome,
  removeDir,
  run,
  synthProcess,
  writeJson,
} from './fixtures.ts';

async function validateProcess(configFile: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['bin/recovery-drill.js', 'config', 'validate', '--config', configFile],
      {
        cwd: PROJECT_ROOT,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cdk app', () => {
  const dirs: string[] = [];
  let repo: string;
  let work: string;

  beforeAll(() => {
    repo = makeTree(appFiles());
    work = makeTree({});
    dirs.push(repo, work);
  });
  afterAll(() => {
    for (const dir of dirs) removeDir(dir);
  });

  it('builds both stacks, each in its configured region, with zero unacknowledged cdk-nag findings', () => {
    const app = makeApp({ outdir: join(work, 'nag.out') });
    const built = buildApp(makeConfig(repo), { baseDir: repo, app });
    expect(built.stack.region).toBe('eu-west-1');
    expect(built.isolationStack?.region).toBe('eu-central-1');
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synth on a finding nobody acknowledged', () => {
    const app = makeApp({ outdir: join(work, 'fail.out') });
    const { stack } = buildApp(makeConfig(repo), { baseDir: repo, app });
    const loose = new iam.Role(stack, 'Loose', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    loose.addToPolicy(new iam.PolicyStatement({ actions: ['rds:*'], resources: ['*'] }));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Action::rds:\*\]/);
    const report = readFileSync(join(work, 'fail.out', 'validation-report.json'), 'utf8');
    expect(report).toContain('RecoveryDrillStack-test/Loose/DefaultPolicy/Resource');
  });

  it('builds no isolation stack when the copy key is configured', () => {
    const config = makeConfig(repo, {
      isolation: {
        copyRegion: 'eu-central-1',
        copyKmsKeyArn: 'arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555',
      },
    });
    const built = buildApp(config, { baseDir: repo, app: makeApp() });
    expect(built.isolationStack).toBeUndefined();
    expect(built.app.node.children.map((c) => c.node.id)).toEqual([
      'RecoveryDrillStack-test',
      // The drill from the isolated copy, in the copy region (not the key: that one is configured).
      'RecoveryDrillCopyRegionStack-test',
    ]);
  });

  it('refuses to build without the Prisma schema, naming app.schema', () => {
    const empty = makeTree({
      'apps/api/.env.example': 'X=1\n',
      'apps/api/prisma/migrations/x/migration.sql': '',
    });
    dirs.push(empty);
    expect(() => buildApp(makeConfig(empty), { baseDir: empty, app: makeApp() })).toThrow(ConfigError);
    expect(() => buildApp(makeConfig(empty), { baseDir: empty, app: makeApp() })).toThrow(/app\.schema/);
  });

  it('refuses an invalid configuration at synth with exit code 1 and the message of config validate', async () => {
    const bad = writeJson(work, 'bad.json', {
      source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
      isolation: { copyRegion: 'eu-central-1' },
      targets: { rpoMinutes: -5 },
      app: { repoPath: repo, image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/bt-cts-api:1.4.2' },
    });
    const [synth, validate] = await Promise.all([
      synthProcess(bad, join(work, 'bad.out')),
      validateProcess(bad),
    ]);
    expect(synth.code).toBe(1);
    expect(synth.stderr).toContain('targets.rpoMinutes');
    expect(synth.stderr).toContain('-5');
    expect(validate.code).toBe(2);
    const message = validate.stderr.replace(/^recovery-drill config validate: /, '').trim();
    expect(synth.stderr.trim()).toBe(message);
  });

  it('refuses at synth, with exit code 1, an app checkout without the env template', async () => {
    const checkout = makeTree({
      'apps/api/prisma/schema.prisma': 'x',
      'apps/api/prisma/migrations/a/migration.sql': '',
    });
    dirs.push(checkout);
    const file = writeJson(work, 'no-env.json', {
      source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
      isolation: { copyRegion: 'eu-central-1' },
      app: { repoPath: checkout },
    });
    const synth = await synthProcess(file, join(work, 'no-env.out'));
    expect(synth.code).toBe(1);
    expect(synth.stderr).toContain('app.envExample');
    expect(synth.stderr).toContain(join(checkout, 'apps/api/.env.example'));
  });
});
