import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReportMarkdown } from '../../../../functions/core/report-markdown.ts';
import { S3ArtifactSource, S3ReportStore } from '../../../../functions/drill/adapters/aws/s3-stores.ts';
import { putJson } from '../../../../functions/shared/aws/s3-objects.ts';
import { type Moto, startMoto } from '../../../support/moto.ts';
import { createBucket, drillReport, motoClients } from './support.ts';

const MIGRATIONS = 'apps/api/prisma/migrations';

describe('drill reports and captured artifacts in S3 against moto', () => {
  let moto: Moto;
  let s3: S3Client;

  beforeAll(async () => {
    moto = await startMoto();
    s3 = motoClients(moto.endpoint).s3;
  });
  afterAll(async () => {
    s3?.destroy();
    await moto?.stop();
  });

  const text = async (bucket: string, key: string) =>
    (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString()) ??
    '';

  it('writes the JSON and Markdown report under reports/<drillId>/ and returns their s3:// locations', async () => {
    await createBucket(s3, 'reports-bucket');
    const report = drillReport('20261126t060000z-ab12');
    const markdown = renderReportMarkdown(report);
    const location = await new S3ReportStore(s3, 'reports-bucket').write(report, markdown);
    expect(location).toEqual({
      json: 's3://reports-bucket/reports/20261126t060000z-ab12/report.json',
      markdown: 's3://reports-bucket/reports/20261126t060000z-ab12/report.md',
    });
    expect(JSON.parse(await text('reports-bucket', 'reports/20261126t060000z-ab12/report.json'))).toEqual(
      report,
    );
    expect(await text('reports-bucket', 'reports/20261126t060000z-ab12/report.md')).toBe(markdown);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: 'reports-bucket', Key: 'reports/20261126t060000z-ab12/report.md' }),
    );
    expect(head.ContentType).toMatch(/^text\/markdown/);
  });

  it('reads the shipped migrations from the manifest that artifacts/latest.json points at', async () => {
    await createBucket(s3, 'artifacts-bucket');
    await putJson(s3, 'artifacts-bucket', 'artifacts/v2/manifest.json', {
      version: 'v2',
      createdAt: '2026-11-26T03:00:00Z',
      files: [
        { path: 'apps/api/.env.example', size: 10, sha256: 'a'.repeat(64) },
        { path: `${MIGRATIONS}/20260101000000_init/migration.sql`, size: 100, sha256: 'b'.repeat(64) },
        { path: `${MIGRATIONS}/20260201000000_accounts/migration.sql`, size: 50, sha256: 'c'.repeat(64) },
        { path: `${MIGRATIONS}/migration_lock.toml`, size: 5, sha256: 'd'.repeat(64) },
      ],
    });
    await putJson(s3, 'artifacts-bucket', 'artifacts/latest.json', {
      version: 'v2',
      manifestKey: 'artifacts/v2/manifest.json',
      updatedAt: '2026-11-26T03:00:00Z',
    });
    const shipped = await new S3ArtifactSource(s3, 'artifacts-bucket', MIGRATIONS).migrations();
    expect(shipped).toEqual({
      migrations: [
        { migrationName: '20260101000000_init', checksum: 'b'.repeat(64) },
        { migrationName: '20260201000000_accounts', checksum: 'c'.repeat(64) },
      ],
      source: 's3://artifacts-bucket/artifacts/v2/manifest.json',
    });
  });

  it('fails with ArtifactsMissingError when no artifacts were captured', async () => {
    await createBucket(s3, 'empty-bucket');
    await expect(new S3ArtifactSource(s3, 'empty-bucket', MIGRATIONS).migrations()).rejects.toMatchObject({
      name: 'ArtifactsMissingError',
      message: expect.stringContaining('artifacts/latest.json'),
    });
  });
});
