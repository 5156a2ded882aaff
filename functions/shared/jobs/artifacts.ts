/**
 * Stores the app's runtime artifacts (`.env.example`, Prisma `migrations/`, `schema.prisma`)
 * beside the backups, with a SHA-256 manifest, so a restore can prove which migrations belonged
 * to which backup (runbook "Required Artifacts" 3-4). The files travel inside this function's code
 * (copied at bundling); the version is the stack's hash of their manifest, so the same files are
 * stored once and a re-run writes nothing.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEscalation } from '../../core/escalations.ts';
import { publishEscalation, type SnsApi } from '../aws/notify.ts';
import { getJson, objectExists, putJson, putObject, type S3Api } from '../aws/s3-objects.ts';
import { buildManifest, type ManifestEntry } from '../checksums.ts';
import type { ArtifactsEnv } from '../env.ts';
import type { JobLogger, JobMetrics } from '../powertools.ts';

/** Everything the job touches, passed in so tests run it against moto. */
export interface ArtifactsDeps {
  readonly env: ArtifactsEnv;
  readonly s3: S3Api;
  readonly sns: SnsApi;
  readonly logger: JobLogger;
  readonly metrics: JobMetrics;
  /** Folder holding the bundled artifacts (`<code root>/artifacts`). */
  readonly artifactsDir: string;
  readonly now?: () => Date;
}

/** `artifacts/<version>/manifest.json`: written last, so its presence means the version is complete. */
export interface ArtifactsManifest {
  readonly version: string;
  readonly createdAt: string;
  readonly files: ManifestEntry[];
}

/** What a CloudFormation custom resource (through `custom-resources.Provider`) sends. */
export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties?: Record<string, unknown>;
}

/** What a scheduled run did. */
export interface ArtifactsResult {
  readonly version: string;
  readonly manifestKey: string;
  /** False when the version was already stored: nothing was written (except, maybe, latest.json). */
  readonly uploaded: boolean;
  readonly files: number;
  /** True when `artifacts/latest.json` was (re)pointed at this version. */
  readonly latestUpdated: boolean;
}

/** The Provider framework's answer: the resource id and attributes for `Fn::GetAtt`. */
export interface CustomResourceResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string | number | boolean>;
}

/** A bundle without artifacts: the stack's bundling hook did not copy them. */
export class ArtifactsMissingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ArtifactsMissingError';
  }
}

/** Where a version's manifest lives: a restore looks it up by the snapshot's artifacts tag. */
export function manifestKeyFor(version: string): string {
  return `artifacts/${version}/manifest.json`;
}

/** The version deployed last, for a restore that does not know which one it needs. */
export const LATEST_KEY = 'artifacts/latest.json';

function isCustomResourceEvent(event: unknown): event is CustomResourceEvent {
  return typeof event === 'object' && event !== null && 'RequestType' in event;
}

/**
 * Handles a deploy (custom resource) or the daily schedule. Deleting the custom resource deletes
 * nothing: stored artifacts belong to backups that outlive the stack (and Object Lock keeps them).
 */
export async function runArtifacts(
  event: unknown,
  deps: ArtifactsDeps,
): Promise<ArtifactsResult | CustomResourceResponse> {
  const { env } = deps;
  const physicalId = `recovery-drill-artifacts-${env.artifactsVersion}`;
  if (isCustomResourceEvent(event) && event.RequestType === 'Delete') {
    deps.logger.info('custom resource deleted: stored artifacts are kept', { version: env.artifactsVersion });
    return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId };
  }
  try {
    const result = await storeArtifacts(deps);
    if (!isCustomResourceEvent(event)) return result;
    return {
      PhysicalResourceId: physicalId,
      Data: { Version: result.version, ManifestKey: result.manifestKey, Files: result.files },
    };
  } catch (error) {
    const e = error as Error;
    deps.metrics.addMetric('BackupFailed', 'Count', 1);
    deps.metrics.addMetric('JobFailed', 'Count', 1, { job: 'artifacts' });
    deps.logger.error('storing the artifacts failed', {
      version: env.artifactsVersion,
      error: `${e.name}: ${e.message}`,
    });
    try {
      await publishEscalation(
        deps.sns,
        env.topicArn,
        env.environment,
        createEscalation(
          'BACKUP_FAILED',
          `artifacts/${env.artifactsVersion}`,
          `storing the app's artifacts (.env.example, migrations, schema) failed: ${e.name}: ${e.message}`,
          { bucket: env.bucket, version: env.artifactsVersion, error: e.name },
        ),
        { source: env.sourceDbInstanceId },
      );
    } catch (publishError) {
      const p = publishError as Error;
      deps.logger.error('could not publish the escalation', { error: `${p.name}: ${p.message}` });
    }
    throw error;
  }
}

async function storeArtifacts(deps: ArtifactsDeps): Promise<ArtifactsResult> {
  const { env, s3, logger } = deps;
  const version = env.artifactsVersion;
  const manifestKey = manifestKeyFor(version);
  const now = (deps.now ?? (() => new Date()))();
  let uploaded = false;
  let files: number;
  const stored = (await objectExists(s3, env.bucket, manifestKey))
    ? ((await getJson(s3, env.bucket, manifestKey)) as ArtifactsManifest | undefined)
    : undefined;
  if (stored) {
    files = stored.files.length;
    logger.info('artifacts of this version already stored: nothing written', { version, manifestKey });
  } else {
    let entries: ManifestEntry[];
    try {
      entries = await buildManifest(deps.artifactsDir);
    } catch (error) {
      throw new ArtifactsMissingError(
        `cannot read the bundled artifacts in ${deps.artifactsDir}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (entries.length === 0) {
      throw new ArtifactsMissingError(
        `no artifacts bundled in ${deps.artifactsDir}: the stack's bundling hook copied nothing`,
      );
    }
    for (const entry of entries) {
      await putObject(
        s3,
        env.bucket,
        `artifacts/${version}/${entry.path}`,
        await readFile(join(deps.artifactsDir, entry.path)),
        {
          contentType: 'application/octet-stream',
          sha256Hex: entry.sha256,
        },
      );
    }
    const manifest: ArtifactsManifest = { version, createdAt: now.toISOString(), files: entries };
    await putJson(s3, env.bucket, manifestKey, manifest);
    uploaded = true;
    files = entries.length;
    deps.metrics.addMetric('ArtifactFilesStored', 'Count', files);
    logger.info('artifacts stored', { version, manifestKey, files });
  }
  const latest = (await objectExists(s3, env.bucket, LATEST_KEY))
    ? ((await getJson(s3, env.bucket, LATEST_KEY)) as { version?: string } | undefined)
    : undefined;
  const latestUpdated = latest?.version !== version;
  if (latestUpdated) {
    await putJson(s3, env.bucket, LATEST_KEY, { version, manifestKey, updatedAt: now.toISOString() });
    logger.info('artifacts/latest.json points at this version', {
      version,
      previous: latest?.version ?? null,
    });
  }
  return { version, manifestKey, uploaded, files, latestUpdated };
}
