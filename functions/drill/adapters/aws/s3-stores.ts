/**
 * The backup bucket as the drill uses it: reports are written under `reports/<drillId>/` (the
 * bucket's versioning and Object Lock keep the history an auditor asks for; SSE-KMS is the
 * bucket's default), and the migrations shipped with the app are read from the captured
 * artifacts, the same files the backups were taken with.
 */
import { migrationsFromManifest } from '../../../core/drift.ts';
import { type HistoryIndex, parseHistoryIndex } from '../../../core/history.ts';
import type { DrillReport } from '../../../core/report.ts';
import { getJson, putObject, type S3Api } from '../../../shared/aws/s3-objects.ts';
import { type ArtifactsManifest, LATEST_KEY, manifestKeyFor } from '../../../shared/jobs/artifacts.ts';
import type { ArtifactSource, ReportStore } from '../../ports/drill-deps.ts';
import { ArtifactsMissingError } from '../../ports/errors.ts';
import { archiveReport, indexText, type ReportDocument } from '../report-archive.ts';

const CONTENT_TYPES: Readonly<Record<ReportDocument, string>> = {
  json: 'application/json',
  markdown: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

export function reportKeys(drillId: string): { json: string; markdown: string; html: string } {
  return {
    json: `reports/${drillId}/report.json`,
    markdown: `reports/${drillId}/report.md`,
    html: `reports/${drillId}/report.html`,
  };
}

/** The index of every drill's report in the backup bucket (read by `recovery-drill history`). */
export const REPORT_INDEX_KEY = 'reports/index.json';

/** Reads the bucket's report index; an empty history when there is none yet. */
export async function readReportIndex(s3: S3Api, bucket: string): Promise<HistoryIndex> {
  return parseHistoryIndex(await getJson(s3, bucket, REPORT_INDEX_KEY));
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

  /**
   * Writes the report (JSON, Markdown, HTML page) and adds it to the index. The report is first
   * compared with the previous measured drill in the index. Drills never run concurrently (the
   * start refuses a second one), so a read-modify-write of the index is enough; the bucket's
   * versioning keeps every earlier index.
   */
  async write(report: DrillReport, markdown: string): Promise<{ json: string; markdown: string }> {
    const keys = reportKeys(report.drillId);
    await archiveReport(
      {
        // An unreadable index (e.g. AccessDenied: a missing key answers 403 to a role that may not
        // list the bucket) must not cost the report itself: write it, and leave the index alone
        // rather than overwrite the history with one drill.
        readIndex: () => readReportIndex(this.s3, this.bucket).catch(() => null),
        put: (document, text) =>
          putObject(this.s3, this.bucket, keys[document], text, { contentType: CONTENT_TYPES[document] }),
        addToIndex: (entry, read) =>
          putObject(this.s3, this.bucket, REPORT_INDEX_KEY, indexText(read, entry), {
            contentType: CONTENT_TYPES.json,
          }),
      },
      report,
      markdown,
    );
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
      throw new ArtifactsMissingError(
        `s3://${this.bucket}/${LATEST_KEY} is missing or names no version: the artifacts function has not stored the app's migrations yet`,
      );
    }
    const manifestKey =
      typeof latest.manifestKey === 'string' ? latest.manifestKey : manifestKeyFor(latest.version);
    const manifest = (await getJson(this.s3, this.bucket, manifestKey)) as ArtifactsManifest | undefined;
    if (!manifest || !Array.isArray(manifest.files)) {
      throw new ArtifactsMissingError(
        `s3://${this.bucket}/${manifestKey} is missing or has no files: the captured artifacts of version ${latest.version} are incomplete`,
      );
    }
    return {
      migrations: migrationsFromManifest(manifest.files, this.migrationsDir),
      source: `s3://${this.bucket}/${manifestKey}`,
    };
  }
}
