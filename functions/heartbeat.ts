/**
 * Lambda entry of the heartbeat (`heartbeat.mode: "function"`, every minute by default, in the
 * source's network). Thin: the environment, the Secrets Manager client and the cached connection
 * are set up once at cold start; the work is `runHeartbeat`.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readHeartbeatEnv } from './shared/env.ts';
import { type HeartbeatDeps, runHeartbeat, secretConnection } from './shared/jobs/heartbeat.ts';
import { jobHandler, traced } from './shared/powertools.ts';

export const handler = jobHandler(
  readHeartbeatEnv,
  (env, common): HeartbeatDeps => ({
    env,
    connection: secretConnection(traced(new SecretsManagerClient({})), env.secretId),
    ...common,
  }),
  runHeartbeat,
);
