import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MOTO_CREDENTIALS } from '../support/moto.ts';
import {
  createSourceInstance,
  createStateTable,
  createTopicWithInbox,
  SOURCE_REGION,
  settingsVariable,
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
function stubRpoMonitorEnv(settings: Record<string, string>) {
  const all: Record<string, string> = {
    AWS_ENDPOINT_URL: aws.moto.endpoint,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_REGION: SOURCE_REGION,
    POWERTOOLS_SERVICE_NAME: 'recovery-drill',
    POWERTOOLS_METRICS_NAMESPACE: 'RecoveryDrill',
    POWERTOOLS_TRACE_ENABLED: 'false',
    ...settings,
  };
  for (const [name, value] of Object.entries(all)) vi.stubEnv(name, value);
}

describe('Lambda handlers', () => {
  it('runs the RPO monitor through its middy handler and flushes the lag as an EMF metric', async () => {
    const source = uniqueId();
    await createSourceInstance(aws.clients.sourceRds, source);
    const inbox = await createTopicWithInbox(aws.clients);
    const table = await createStateTable(aws.clients.ddb);
    stubRpoMonitorEnv(
      settingsVariable(
        'rpoMonitor',
        { source: { dbInstanceIdentifier: source } },
        { topicArn: inbox.topicArn, stateTable: table },
      ),
    );
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

    // No snapshot exists anywhere yet: stale, escalated once per location (source and copy region).
    expect(result).toMatchObject({ stale: true, incident: 'opened', published: true });
    expect((await inbox.drain()).map((m) => m.attributes.class)).toEqual(['BACKUP_STALE', 'BACKUP_STALE']);
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

  it('fails at cold start naming the config path and the resource its settings got wrong', async () => {
    const good = JSON.parse(
      settingsVariable(
        'rpoMonitor',
        {},
        { topicArn: 'arn:aws:sns:eu-west-1:123456789012:t', stateTable: 't' },
      ).RECOVERY_DRILL_SETTINGS as string,
    );
    good.config.targets.rpoMinutes = 'sixty';
    delete good.resources.stateTable;
    stubRpoMonitorEnv({ RECOVERY_DRILL_SETTINGS: JSON.stringify(good) });
    const loading = import('../../functions/rpo-monitor.ts');
    // A fresh module graph per import: compare the name, not the class.
    await expect(loading).rejects.toMatchObject({ name: 'SettingsError' });
    await expect(loading).rejects.toThrow(
      'invalid RECOVERY_DRILL_SETTINGS for the rpoMonitor function (redeploy the stack, or encode it with lib/): ' +
        'targets.rpoMinutes: expected a number; got "sixty"; resource stateTable: expected a string; got nothing',
    );
  });
});
