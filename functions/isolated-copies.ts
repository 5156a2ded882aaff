/**
 * Lambda entry of the copy account's stack (every few hours): copies the snapshots the source
 * account shares into snapshots this account owns, and prunes them. Thin: the settings and SDK
 * clients are set up once at cold start; the work is `runIsolatedCopies`.
 */
import { RDSClient } from '@aws-sdk/client-rds';
import { SNSClient } from '@aws-sdk/client-sns';
import { readIsolatedCopiesEnv } from './shared/env.ts';
import { type IsolatedCopiesDeps, runIsolatedCopies } from './shared/jobs/isolated-copies.ts';
import { jobHandler, traced } from './shared/powertools.ts';

export const handler = jobHandler(
  readIsolatedCopiesEnv,
  (env, common): IsolatedCopiesDeps => ({
    env,
    rds: traced(new RDSClient({ region: env.copyRegion })),
    sns: traced(new SNSClient({ region: env.copyRegion })),
    ...common,
  }),
  runIsolatedCopies,
);
