/**
 * Lambda entry of the RPO monitor (every 15 minutes by default). Thin: the environment and SDK
 * clients are set up once at cold start; the work is `runRpoMonitor`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RDSClient } from '@aws-sdk/client-rds';
import { SNSClient } from '@aws-sdk/client-sns';
import { readRpoMonitorEnv } from './shared/env.ts';
import { type RpoMonitorDeps, runRpoMonitor } from './shared/jobs/rpo-monitor.ts';
import { jobHandler, traced } from './shared/powertools.ts';

export const handler = jobHandler(
  readRpoMonitorEnv,
  (env, common): RpoMonitorDeps => ({
    env,
    sourceRds: traced(new RDSClient({ region: env.sourceRegion })),
    copyRds: traced(new RDSClient({ region: env.copyRegion })),
    ddb: traced(new DynamoDBClient({ region: env.sourceRegion })),
    sns: traced(new SNSClient({ region: env.sourceRegion })),
    ...common,
  }),
  runRpoMonitor,
);
