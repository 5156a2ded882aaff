/**
 * Lambda entry that stores the app's artifacts in the backup bucket (on deploy through a custom
 * resource, and daily). The artifacts are bundled under `artifacts/` beside this file's bundle.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { readArtifactsEnv } from './shared/env.ts';
import { type ArtifactsDeps, runArtifacts } from './shared/jobs/artifacts.ts';
import { jobHandler, traced } from './shared/powertools.ts';

export const handler = jobHandler(
  readArtifactsEnv,
  (env, common): ArtifactsDeps => ({
    env,
    // The copy region's drill stack runs this function for its own bucket there: follow S3's redirect.
    s3: traced(new S3Client({ region: env.sourceRegion, followRegionRedirects: true })),
    sns: traced(new SNSClient({ region: env.sourceRegion })),
    artifactsDir: join(process.env.LAMBDA_TASK_ROOT ?? dirname(fileURLToPath(import.meta.url)), 'artifacts'),
    ...common,
  }),
  runArtifacts,
);
