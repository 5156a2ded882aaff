/**
 * Lambda entry of the daily snapshot (scheduled, and on RDS "snapshot created" events). Thin: the
 * settings and SDK clients are set up once at cold start; the work is `runSnapshot`.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { RDSClient } from '@aws-sdk/client-rds';
import { SNSClient } from '@aws-sdk/client-sns';
import { readSnapshotEnv } from './shared/env.ts';
import { runSnapshot, type SnapshotDeps } from './shared/jobs/snapshot.ts';
import { jobHandler, traced } from './shared/powertools.ts';

export const handler = jobHandler(
  readSnapshotEnv,
  (env, common): SnapshotDeps => ({
    env,
    sourceRds: traced(new RDSClient({ region: env.sourceRegion })),
    copyRds: traced(new RDSClient({ region: env.copyRegion })),
    copyKms: traced(new KMSClient({ region: env.copyRegion })),
    sns: traced(new SNSClient({ region: env.sourceRegion })),
    ...common,
  }),
  runSnapshot,
);
