/**
 * The backup bucket as the drill uses it: reports are written under `reports/<drillId>/` (the
 * bucket's versioning and Object Lock keep the history an auditor asks for; SSE-KMS is the
 * bucket's default), and the migrations shipped with the app are read from the captured
 * artifacts, the same files the backups were taken with.
 */
import { migrationsFromManifest } from '../../core/drift.ts';
import type { DrillReport } from '../../core/report.ts';
import { getJson, putObject, type S3Api } from '../../shared/aws/s3-objects.ts';
import { type ArtifactsManifest, LATEST_KEY, manifestKeyFor } from '../../shared/jobs/artifacts.ts';
import type { ArtifactSource, ReportStore } from '../ports.ts';
import { DrillStepError } from '../steps.ts';

export function reportKeys(drillId: string): { json: string; markdown: string } {
  return { json: `reports/${drillId}/report.json`, markdown: `reports/${drillId}/report.md` };
}

/** Splits `s3://bucket/key` (the report locations the drill returns). */
export function parseS3Url(url: string): { bucket: string; key: string } | null {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  return match?.[1] && match[2] ? { bucket: match[1], key: match[2] } : null;
}

export class S3ReportStore implements ReportStore {
  constructor(
    private readonly s3: S3Api,
    private readonly bucket: string,
  ) {}

  async write(report: DrillReport, markdown: string): Promise<{ json: string; markdown: string }> {
    const keys = reportKeys(report.drillId);
    await putObject(this.s3, this.bucket, keys.json, `${JSON.stringify(report, null, 2)}\n`, {
      contentType: 'application/json',
    });
    await putObject(this.s3, this.bucket, keys.markdown, markdown, {
      contentType: 'text/markdown; charset=utf-8',
    });
    return { json: `s3://${this.bucket}/${keys.json}`, markdown: `s3://${this.bucket}/${keys.markdown}` };
  }
}

export class S3ArtifactSource implements ArtifactSource {
  /** @param migrationsDir config `app.migrationsDir`, as the manifest's paths start with it. */
  constructor(
    private readonly s3: S3Api,
    private readonly bucket: string,
    private readonly migrationsDir: string,
  ) {}

  async migrations() {
    const latest = (await getJson(this.s3, this.bucket, LATEST_KEY)) as
      | { version?: unknown; manifestKey?: unknown }
      | undefined;
    if (!latest || typeof latest.version !== 'string') {
      throw new DrillStepError(
        'ArtifactsMissingError',
        `s3://${this.bucket}/${LATEST_KEY} is missing or names no version: the artifacts function has not stored the app's migrations yet`,
      );
    }
    const manifestKey =
      typeof latest.manifestKey === 'string' ? latest.manifestKey : manifestKeyFor(latest.version);
    const manifest = (await getJson(this.s3, this.bucket, manifestKey)) as ArtifactsManifest | undefined;
    if (!manifest || !Array.isArray(manifest.files)) {
      throw new DrillStepError(
        'ArtifactsMissingError',
        `s3://${this.bucket}/${manifestKey} is missing or has no files: the captured artifacts of version ${latest.version} are incomplete`,
      );
    }
    return {
      migrations: migrationsFromManifest(manifest.files, this.migrationsDir),
      source: `s3://${this.bucket}/${manifestKey}`,
    };
  }
}
