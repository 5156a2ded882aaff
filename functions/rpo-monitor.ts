/**
 * Lambda entry of the RPO monitor (every 15 minutes by default). Thin: the environment and SDK
 * clients are set up once at cold start; the work is `runRpoMonitor`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RDSClient } from '@aws-sdk/client-rds';
import { SNSClient } from '@aws-sdk/client-sns';
import { readRpoMonitorEnv } from './shared/env.ts';
import { type RpoMonitorDeps, runRpoMonitor } from './shared/jobs/rpo-monitor.ts';
import {
  jobLogger,
  jobMetrics,
  lambdaHandler,
  traced,
  useEnvironmentDimension,
} from './shared/powertools.ts';

const env = readRpoMonitorEnv();
useEnvironmentDimension(env.environment);

const deps: RpoMonitorDeps = {
  env,
  sourceRds: traced(new RDSClient({ region: env.sourceRegion })),
  copyRds: traced(new RDSClient({ region: env.copyRegion })),
  ddb: traced(new DynamoDBClient({ region: env.sourceRegion })),
  sns: traced(new SNSClient({ region: env.sourceRegion })),
  logger: jobLogger,
  metrics: jobMetrics,
};

/** The job with its dependencies passed in: what tests call. */
export const run = runRpoMonitor;

export const handler = lambdaHandler((event: unknown) => runRpoMonitor(event, deps));
