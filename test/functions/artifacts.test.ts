import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../functions/shared/checksums.ts';
import {
  type ArtifactsDeps,
  ArtifactsMissingError,
  LATEST_KEY,
  manifestKeyFor,
  runArtifacts,
} from '../../functions/shared/jobs/artifacts.ts';
import {
  artifactsEnv,
  createBackupBucket,
  createTopicWithInbox,
  recorder,
  useMotoClients,
} from './fixtures.ts';

const aws = useMotoClients();

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The artifacts as the stack's bundling hook lays them out beside the function's code. */
function bundledArtifacts(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'artifacts-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const APP_FILES = {
  'apps/api/.env.example': 'DATABASE_URL=postgresql://app:change-me@localhost:5432/btcts\n',
  'apps/api/prisma/schema.prisma': 'model User { id Int @id }\n',
  'apps/api/prisma/migrations/20260101000000_init/migration.sql':
    'CREATE TABLE "User" (id int primary key);\n',
  'apps/api/prisma/migrations/migration_lock.toml': 'provider = "postgresql"\n',
};

async function setup(files: Record<string, string> = APP_FILES, version = 'c'.repeat(64)) {
  const inbox = await createTopicWithInbox(aws.clients);
  const { bucket, keyArn } = await createBackupBucket(aws.clients);
  const rec = recorder();
  const deps: ArtifactsDeps = {
    env: artifactsEnv(bucket, inbox.topicArn, { artifactsVersion: version }),
    s3: aws.clients.s3,
    sns: aws.clients.sns,
    logger: rec.logger,
    metrics: rec.metricsSink,
    artifactsDir: bundledArtifacts(files),
  };
  return { inbox, bucket, keyArn, rec, deps, version };
}

async function text(bucket: string, key: string): Promise<string> {
  const out = await aws.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

async function versionsOf(bucket: string): Promise<number> {
  const out = await aws.clients.s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  return out.Versions?.length ?? 0;
}

describe('artifacts function', () => {
  it('stores every artifact and a manifest of path, size and SHA-256 under the version', async () => {
    const { bucket, deps, version } = await setup();
    const result = await runArtifacts({}, deps);
    expect(result).toEqual({
      version,
      manifestKey: manifestKeyFor(version),
      uploaded: true,
      files: 4,
      latestUpdated: true,
    });
    const manifest = JSON.parse(await text(bucket, `artifacts/${version}/manifest.json`));
    expect(manifest.version).toBe(version);
    expect(manifest.files).toEqual(
      Object.entries(APP_FILES)
        .map(([path, content]) => ({ path, size: Buffer.byteLength(content), sha256: sha256Hex(content) }))
        .sort((a, b) => a.path.localeCompare(b.path)),
    );
    for (const [path, content] of Object.entries(APP_FILES)) {
      expect(await text(bucket, `artifacts/${version}/${path}`)).toBe(content);
    }
    expect(JSON.parse(await text(bucket, LATEST_KEY))).toMatchObject({
      version,
      manifestKey: manifestKeyFor(version),
    });
  });

  it('writes into an Object Lock bucket, encrypted with the bucket KMS key and locked', async () => {
    const { bucket, keyArn, deps, version } = await setup();
    await runArtifacts({}, deps);
    // HeadObject, not GetObjectRetention (broken in moto), shows encryption and lock.
    const head = await aws.clients.s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: `artifacts/${version}/apps/api/prisma/schema.prisma` }),
    );
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe(keyArn);
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    const lockedDays = ((head.ObjectLockRetainUntilDate?.getTime() ?? 0) - Date.now()) / 86_400_000;
    expect(lockedDays).toBeGreaterThan(34);
    expect(lockedDays).toBeLessThanOrEqual(35);
  });

  it('writes nothing when the same version runs again', async () => {
    const { bucket, deps, inbox } = await setup();
    await runArtifacts({}, deps);
    const versions = await versionsOf(bucket);
    const again = await runArtifacts({}, deps);
    expect(again).toMatchObject({ uploaded: false, latestUpdated: false, files: 4 });
    expect(await versionsOf(bucket)).toBe(versions);
    expect(await inbox.drain()).toEqual([]);
  });

  it('answers a deploy custom resource and keeps the artifacts when the resource is deleted', async () => {
    const { bucket, deps, version } = await setup();
    const created = await runArtifacts({ RequestType: 'Create', ResourceProperties: {} }, deps);
    expect(created).toEqual({
      PhysicalResourceId: `recovery-drill-artifacts-${version}`,
      Data: { Version: version, ManifestKey: manifestKeyFor(version), Files: 4 },
    });
    const versions = await versionsOf(bucket);
    const deleted = await runArtifacts({ RequestType: 'Delete', PhysicalResourceId: 'resource-1' }, deps);
    expect(deleted).toEqual({ PhysicalResourceId: 'resource-1' });
    expect(await versionsOf(bucket)).toBe(versions);
  });

  it('points latest.json back at an older version when it is deployed again', async () => {
    const first = await setup();
    await runArtifacts({}, first.deps);
    const newer = { ...first.deps, env: { ...first.deps.env, artifactsVersion: 'd'.repeat(64) } };
    await runArtifacts({}, newer);
    const back = await runArtifacts({}, first.deps);
    expect(back).toMatchObject({ uploaded: false, latestUpdated: true });
    expect(JSON.parse(await text(first.bucket, LATEST_KEY)).version).toBe(first.version);
  });

  it('fails with BACKUP_FAILED when the bundle holds no artifacts', async () => {
    const { bucket, deps, inbox } = await setup({});
    await expect(runArtifacts({}, deps)).rejects.toThrow(ArtifactsMissingError);
    expect(await versionsOf(bucket)).toBe(0);
    const [message] = await inbox.drain();
    expect(message?.attributes).toMatchObject({ class: 'BACKUP_FAILED', severity: 'high' });
    expect(message?.body.message).toContain('no artifacts bundled');
  });
});
