import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MOTO_CREDENTIALS } from '../support/moto.ts';
import {
  createSourceInstance,
  createStateTable,
  createTopicWithInbox,
  SOURCE_REGION,
  uniqueId,
  useMotoClients,
} from './fixtures.ts';

const aws = useMotoClients();
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  vi.resetModules();
});

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'recovery-drill-rpo-monitor',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:recovery-drill-rpo-monitor',
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: '/aws/lambda/recovery-drill-rpo-monitor',
    logStreamName: '2026/11/26/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The environment the stack gives the RPO monitor, pointed at moto through AWS_ENDPOINT_URL. */
function stubRpoMonitorEnv(values: Record<string, string>) {
  const all: Record<string, string> = {
    AWS_ENDPOINT_URL: aws.moto.endpoint,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_REGION: SOURCE_REGION,
    POWERTOOLS_SERVICE_NAME: 'recovery-drill',
    POWERTOOLS_METRICS_NAMESPACE: 'RecoveryDrill',
    POWERTOOLS_TRACE_ENABLED: 'false',
    ENVIRONMENT: 'test',
    SOURCE_REGION,
    COPY_REGION: 'eu-central-1',
    RPO_TARGET_MINUTES: '60',
    ...values,
  };
  for (const [name, value] of Object.entries(all)) vi.stubEnv(name, value);
}

describe('Lambda handlers', () => {
  it('runs the RPO monitor through its middy handler and flushes the lag as an EMF metric', async () => {
    const source = uniqueId();
    await createSourceInstance(aws.clients.sourceRds, source);
    const inbox = await createTopicWithInbox(aws.clients);
    const table = await createStateTable(aws.clients.ddb);
    stubRpoMonitorEnv({ TOPIC_ARN: inbox.topicArn, SOURCE_DB_INSTANCE_ID: source, STATE_TABLE: table });
    const written: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
      vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
        written.push(String(chunk));
        return original(chunk, ...rest);
      }) as typeof stream.write);
    }

    const { handler } = await import('../../functions/rpo-monitor.ts');
    const result = await handler({}, lambdaContext());

    // No snapshot exists anywhere yet: stale, escalated once.
    expect(result).toMatchObject({ stale: true, incident: 'opened', published: true });
    expect((await inbox.drain()).map((m) => m.attributes.class)).toEqual(['BACKUP_STALE']);
    const emf = written
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const metrics = emf.find((blob) => 'RestorableTimeLag' in blob);
    expect(metrics).toMatchObject({ service: 'recovery-drill', BackupStale: 1 });
    expect(JSON.stringify(metrics)).toContain('"Namespace":"RecoveryDrill"');
    const logLine = written.find((line) => line.includes('backups are stale'));
    expect(logLine).toContain('"function_request_id":"c6af9ac6-7b61-11e6-9a41-93e812345678"');
  });

  it('fails at cold start naming every missing or malformed variable', async () => {
    stubRpoMonitorEnv({
      TOPIC_ARN: 'not-an-arn',
      SOURCE_DB_INSTANCE_ID: 'btcts',
      RPO_TARGET_MINUTES: 'sixty',
    });
    const loading = import('../../functions/rpo-monitor.ts');
    // A fresh module graph per import: compare the name, not the class.
    await expect(loading).rejects.toMatchObject({ name: 'EnvironmentError' });
    await expect(loading).rejects.toThrow(
      'invalid Lambda environment (check the stack): TOPIC_ARN="not-an-arn": expected an ARN of sns ("arn:aws:sns:...")' +
        '; RPO_TARGET_MINUTES="sixty": expected a number greater than 0 and at most 1440; STATE_TABLE is not set (expected a DynamoDB table name)',
    );
  });
});
