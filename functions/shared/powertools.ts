/**
 * One Powertools logger, metrics and tracer per function, shared by its modules so that every log
 * line carries the invocation context and every metric lands in one EMF blob per invocation.
 * Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE (set by
 * the stack); the defaults keep a hand-run or a test on the same names.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

import { METRICS_NAMESPACE, SERVICE_NAME } from '../core/contracts.ts';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME;

/** Structured JSON logs with the Lambda context; one instance so `clearState` covers every module. */
export const logger = new Logger({ serviceName });
/**
 * The dimension every recovery-drill metric carries besides Powertools' `service`, so one account
 * can hold several environments and the stack's alarms and dashboard read only their own.
 */
export const ENVIRONMENT_DIMENSION = 'environment';

/**
 * A Powertools Metrics with the project's namespace and, when given, the `environment` default
 * dimension (the backup functions' `config.environment`, from their settings; the drill passes it
 * per metric). Only Powertools' own variables are read from the environment.
 */
export function createMetrics(
  environment?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Metrics {
  return new Metrics({
    serviceName: env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME,
    namespace: env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
    ...(environment ? { defaultDimensions: { [ENVIRONMENT_DIMENSION]: environment } } : {}),
  });
}

/** EMF metrics, flushed once per invocation by `lambdaHandler`. */
export const metrics = createMetrics();

/**
 * Tags every metric of this function with its environment, once its settings are decoded at cold
 * start (the stack's alarms and dashboard read only their own environment's metrics).
 */
export function useEnvironmentDimension(environment: string, target: Metrics = metrics): void {
  target.setDefaultDimensions({ [ENVIRONMENT_DIMENSION]: environment });
}
/** X-Ray segments for the handler and every SDK call (the stack turns tracing on). */
export const tracer = new Tracer({ serviceName });

/** The narrow logging surface the jobs use, so tests can pass a recorder instead of Powertools. */
export interface JobLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** CloudWatch units the project uses; minutes have no CloudWatch unit, so `*Minutes` metrics use `None`. */
export type MetricUnitName = 'Count' | 'Seconds' | 'Bytes' | 'None';

/** The narrow metrics surface the jobs use. */
export interface JobMetrics {
  /**
   * `unit`: a CloudWatch unit such as `Count` or `Seconds`. `dimensions`: extra dimensions for this
   * one metric (e.g. `region`, `step`, `job`): it is published on its own, beside the default ones.
   */
  addMetric(
    name: string,
    unit: MetricUnitName,
    value: number,
    dimensions?: Readonly<Record<string, string>>,
  ): void;
}

/**
 * The narrow surface over a Powertools Metrics. A metric with extra dimensions goes out as a
 * single-metric EMF blob at once, because every metric of the shared blob has the same dimensions.
 */
export function metricsSink(target: Metrics): JobMetrics {
  return {
    addMetric: (name, unit, value, dimensions) => {
      const extra = Object.entries(dimensions ?? {});
      if (extra.length === 0) {
        target.addMetric(name, unit, value);
        return;
      }
      const single = target.singleMetric();
      for (const [key, dimension] of extra) single.addDimension(key, dimension);
      single.addMetric(name, unit, value);
    },
  };
}

/** The Powertools logger behind the jobs' narrow logging surface. */
export const jobLogger: JobLogger = {
  info: (message, extra) => logger.info(message, extra ?? {}),
  warn: (message, extra) => logger.warn(message, extra ?? {}),
  error: (message, extra) => logger.error(message, extra ?? {}),
};

/** The Powertools metrics behind the jobs' narrow metrics surface. */
export const jobMetrics: JobMetrics = metricsSink(metrics);

/** Instruments an SDK client for X-Ray once, at cold start (a no-op outside Lambda). */
export function traced<T>(client: T): T {
  return tracer.captureAWSv3Client(client);
}

/**
 * Wraps a job's `run` as a Lambda handler, once per function: context in every log line (cleared
 * between invocations), metrics flushed as EMF even when the job throws, an X-Ray segment.
 */
export function lambdaHandler<TEvent, TResult>(run: (event: TEvent, context: Context) => Promise<TResult>) {
  return middy<TEvent, TResult>()
    .use(captureLambdaHandler(tracer))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(injectLambdaContext(logger, { clearState: true }))
    .handler((event, context) => run(event, context));
}

/** What every scheduled job gets beside its settings and clients: Powertools' logger and metrics. */
export interface JobCommon {
  readonly logger: JobLogger;
  readonly metrics: JobMetrics;
}

/**
 * The Lambda handler of a scheduled job: its settings read and its metrics tagged with its
 * environment once at cold start, its dependencies (the SDK clients) built once from them, the
 * job run per event. A bad deployment (missing settings) fails the cold start, not a run.
 */
export function jobHandler<E extends { readonly environment: string }, D, R>(
  readSettings: () => E,
  dependencies: (settings: E, common: JobCommon) => D,
  job: (event: unknown, deps: D) => Promise<R>,
) {
  const settings = readSettings();
  useEnvironmentDimension(settings.environment);
  const deps = dependencies(settings, { logger: jobLogger, metrics: jobMetrics });
  return lambdaHandler((event: unknown) => job(event, deps));
}
