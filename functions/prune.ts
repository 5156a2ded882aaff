/**
 * Lambda entry of retention pruning in the source and the isolated region. Thin: the environment
 * and SDK clients are set up once at cold start; the work is `runPrune`.
 */
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { readPruneEnv } from './shared/env.ts';
import { type PruneDeps, runPrune } from './shared/jobs/prune.ts';
import { jobHandler, traced } from './shared/powertools.ts';

export const handler = jobHandler(
  readPruneEnv,
  (env, common): PruneDeps => ({
    env,
    sourceRds: traced(new RDSClient({ region: env.sourceRegion })),
    copyRds: traced(new RDSClient({ region: env.copyRegion })),
    s3: traced(new S3Client({ region: env.sourceRegion })),
    sns: traced(new SNSClient({ region: env.sourceRegion })),
    ...common,
  }),
  runPrune,
);
