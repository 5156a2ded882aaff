import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildManifest } from '../../functions/shared/checksums.ts';
import { appFiles, makeTree, type Outcome, removeDir, run, synthProcess, writeJson } from './fixtures.ts';

type CfnValue = string | { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, CfnValue[]] };
interface CfnTemplate {
  Resources: Record<
    string,
    {
      Type: string;
      Properties: { Code?: { S3Key?: string }; Environment?: { Variables: Record<string, CfnValue> } };
    }
  >;
}

/** What a deployment would put in place of each token: a plausible value by resource type. */
function deployedValue(template: CfnTemplate, value: CfnValue): string {
  if (typeof value === 'string') return value;
  if (value.Ref === 'AWS::Partition') return 'aws';
  if (value.Ref === 'AWS::AccountId') return '123456789012';
  const join = value['Fn::Join'];
  if (join) return join[1].map((part) => deployedValue(template, part)).join(join[0]);
  const id = value.Ref ?? value['Fn::GetAtt']?.[0] ?? '';
  const plausible: Record<string, string> = {
    'AWS::SNS::Topic': 'arn:aws:sns:eu-west-1:123456789012:escalations',
    'AWS::DynamoDB::Table': 'recovery-drill-state',
    'AWS::S3::Bucket': 'recovery-drill-backups',
    'AWS::IAM::Role': 'arn:aws:iam::123456789012:role/recovery-drill-export',
    'AWS::KMS::Key': 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  };
  const type = template.Resources[id]?.Type ?? `unknown ${id}`;
  const resolved = plausible[type];
  if (resolved === undefined) throw new Error(`no plausible value for ${JSON.stringify(value)} (${type})`);
  return resolved;
}

describe('cdk app synthesized by bin/app.ts with esbuild bundles', () => {
  let repo: string;
  let work: string;
  let outdir: string;
  let synth: Outcome;
  let template: CfnTemplate;

  beforeAll(async () => {
    repo = makeTree(appFiles());
    work = makeTree({});
    const file = writeJson(work, 'good.json', {
      environment: 'test',
      source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
      isolation: { copyRegion: 'eu-central-1' },
      app: { repoPath: repo, image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/bt-cts-api:1.4.2' },
    });
    outdir = join(work, 'cdk.out');
    synth = await synthProcess(file, outdir);
    if (synth.code === 0) {
      template = JSON.parse(
        readFileSync(join(outdir, 'RecoveryDrillStack-test.template.json'), 'utf8'),
      ) as CfnTemplate;
    }
  }, 180_000);
  afterAll(() => {
    removeDir(repo);
    removeDir(work);
  });

  function backupFunctions(): [string, CfnTemplate['Resources'][string]][] {
    return Object.entries(template.Resources).filter(
      ([id, r]) =>
        /^Backups(Snapshot|Artifacts|Prune|RpoMonitor)[0-9A-F]{8}$/.test(id) &&
        r.Type === 'AWS::Lambda::Function',
    );
  }

  function assetDirOf(resource: CfnTemplate['Resources'][string]): string {
    return join(outdir, `asset.${resource.Properties.Code?.S3Key?.replace(/\.zip$/, '')}`);
  }

  it('synthesizes offline, cdk-nag included, and exits 0', () => {
    expect(synth.code, synth.stderr).toBe(0);
    expect(backupFunctions()).toHaveLength(4);
  });

  it('copies every artifact into the artifacts function, byte for byte, under artifacts/', async () => {
    const artifacts = backupFunctions().find(([id]) => id.startsWith('BackupsArtifacts'));
    const assetDir = assetDirOf((artifacts as [string, CfnTemplate['Resources'][string]])[1]);
    expect(readdirSync(assetDir)).toContain('index.mjs');
    expect(await buildManifest(join(assetDir, 'artifacts'))).toEqual(await buildManifest(repo));
  });

  it('starts every bundled function with the environment the stack gives it', async () => {
    for (const [id, fn] of backupFunctions()) {
      const variables = fn.Properties.Environment?.Variables ?? {};
      const env = Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [key, deployedValue(template, value)]),
      );
      const entry = join(assetDirOf(fn), 'index.mjs');
      // A fresh Node process per bundle, as Lambda's cold start: the module reads its environment
      // at import and throws naming any variable the stack got wrong.
      const { stdout } = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(entry)}); console.log(typeof m.handler);`,
        ],
        { env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', ...env } },
      );
      expect(stdout.trim(), id).toBe('function');
    }
  });
});
