/**
 * Drill function "abort cleanup": EventBridge invokes it when a drill execution ends TIMED_OUT,
 * ABORTED or FAILED, so that a drill that never reached its cleanup leaves no copy of production
 * data running (see drill/drivers/aws/abort-cleanup.ts). Settings are decoded at cold start, as in
 * the other drill functions.
 */
import { decodeSettings } from './core/settings.ts';
import { buildAwsDrillDeps, createAwsClients } from './drill/adapters/aws/deps.ts';
import { drillEnvOf } from './drill/adapters/aws/env.ts';
import { cleanUpAfterExecution, type ExecutionEndedEvent } from './drill/drivers/aws/abort-cleanup.ts';
import { jobLogger, jobMetrics, lambdaHandler, useEnvironmentDimension } from './shared/powertools.ts';

const settings = decodeSettings('drillAbortCleanup', process.env);
const { config } = settings;
useEnvironmentDimension(config.environment);
const env = drillEnvOf(settings);
const clients = createAwsClients(env.region, config.source.region);
const deps = {
  drill: buildAwsDrillDeps({ config, env, clients }),
  sns: clients.sns,
  topicArn: env.topicArn,
  stateMachineArn: settings.resources.stateMachineArn,
  logger: jobLogger,
  metrics: jobMetrics,
};

export const handler = lambdaHandler((event: ExecutionEndedEvent) => cleanUpAfterExecution(event, deps));
