/**
 * Lambda entry of the heartbeat (`heartbeat.mode: "function"`, every minute by default, in the
 * source's network). Thin: the environment, the Secrets Manager client and the cached connection
 * are set up once at cold start; the work is `runHeartbeat`.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readHeartbeatEnv } from './shared/env.ts';
import { type HeartbeatDeps, runHeartbeat, secretConnection } from './shared/jobs/heartbeat.ts';
import {
  jobLogger,
  jobMetrics,
  lambdaHandler,
  traced,
  useEnvironmentDimension,
} from './shared/powertools.ts';

const env = readHeartbeatEnv();
useEnvironmentDimension(env.environment);

const deps: HeartbeatDeps = {
  env,
  connection: secretConnection(traced(new SecretsManagerClient({})), env.secretId),
  logger: jobLogger,
  metrics: jobMetrics,
};

/** The job with its dependencies passed in: what tests call. */
export const run = runHeartbeat;

export const handler = lambdaHandler((event: unknown) => runHeartbeat(event, deps));
