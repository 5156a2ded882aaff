import { createServer, type Server } from 'node:http';
import { ListTasksCommand } from '@aws-sdk/client-ecs';
import { CreateDBSubnetGroupCommand, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config.ts';
import { encodeSettings, SETTINGS_VARIABLE } from '../../functions/core/settings.ts';
import type { DrillState } from '../../functions/drill/steps/index.ts';
import { type ContractApp, startContractApp } from '../support/contract-app.ts';
import { type Moto, startMoto } from '../support/moto.ts';
import {
  createAppTask,
  createBucket,
  createDrillSecret,
  createSource,
  defaultNetwork,
  motoClients,
  REGION,
  useLambdaEnvironment,
} from './drill/aws/support.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

function lambdaContext(name: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:123456789012:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

describe('drill functions', () => {
  let moto: Moto;
  let clients: ReturnType<typeof motoClients>;
  let masterPassword: string;
  let queueUrl: string;
  let app: Server;
  let appUrl: string;
  let contractApp: ContractApp;
  let restoreEnv: () => void = () => undefined;
  /** The resources the drill functions' settings name (what the stack would create). */
  let stack: { drillSecretArn: string; clusterArn: string };
  const handlers: Record<'control' | 'checks' | 'reporting', Handler> = {} as never;

  beforeAll(async () => {
    moto = await startMoto();
    clients = motoClients(moto.endpoint);
    const { rds, secrets, ecs, s3, sns, sqs } = clients;
    await createSource(rds);
    const network = await defaultNetwork(moto.endpoint);
    await rds.send(
      new CreateDBSubnetGroupCommand({
        DBSubnetGroupName: 'recovery-drill-isolated',
        DBSubnetGroupDescription: 'isolated',
        SubnetIds: [network.subnetId],
      }),
    );
    const source = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'bt-cts-prod' })))
      .DBInstances?.[0];
    masterPassword = JSON.parse(
      (await secrets.send(new GetSecretValueCommand({ SecretId: source?.MasterUserSecret?.SecretArn })))
        .SecretString ?? '{}',
    ).password;
    const drillSecretArn = await createDrillSecret(secrets);
    await createBucket(s3, 'backup-bucket');
    const appTask = await createAppTask(ecs, network);
    stack = { drillSecretArn, clusterArn: appTask.clusterArn };
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'escalations' }))).TopicArn as string;
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'escalations-q' }))).QueueUrl as string;
    const queueArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));

    app = createServer((req, res) => {
      res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const address = app.address();
    appUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    contractApp = await startContractApp({ password: 'admin-pass-5150' });
    await secrets.send(
      new CreateSecretCommand({ Name: 'bt-cts/admin-password', SecretString: 'admin-pass-5150' }),
    );

    const config = parseConfig({
      environment: 'test',
      source: { dbInstanceIdentifier: 'bt-cts-prod', region: REGION },
      isolation: { copyRegion: 'eu-central-1' },
      app: { image: 'bt-cts:latest' },
      smoke: { adminPasswordSecret: 'bt-cts/admin-password' },
    });
    restoreEnv = useLambdaEnvironment(moto.endpoint, {
      // Logs on, so the test can read what the functions log.
      POWERTOOLS_LOG_LEVEL: 'INFO',
      [SETTINGS_VARIABLE]: encodeSettings('drill', config, {
        bucket: 'backup-bucket',
        topicArn,
        drillSecretArn,
        dbSubnetGroupName: 'recovery-drill-isolated',
        dbSecurityGroupIds: [network.securityGroupId],
        clusterArn: appTask.clusterArn,
        taskDefinitionArn: appTask.taskDefinitionArn,
        appSubnetIds: [network.subnetId],
        appSecurityGroupIds: [network.securityGroupId],
        logGroupName: null,
        stateTable: null,
        drillRegion: null,
        artifactsBucket: null,
      }),
    });
    // Cold start: the entries read their configuration and environment when first imported.
    handlers.control = (await import('../../functions/drill-control.ts')).handler as unknown as Handler;
    handlers.checks = (await import('../../functions/drill-checks.ts')).handler as unknown as Handler;
    handlers.reporting = (await import('../../functions/drill-reporting.ts')).handler as unknown as Handler;
  });

  afterAll(async () => {
    restoreEnv();
    await new Promise((resolve) => app?.close(resolve));
    await contractApp?.close();
    for (const client of Object.values(clients ?? {})) client.destroy();
    await moto?.stop();
  });

  const invoke = (group: keyof typeof handlers, step: string, state: DrillState, execution: string) =>
    handlers[group]({ step, state, execution }, lambdaContext(`drill-${group}`));

  it('control and reporting functions run a drill from validation to report, cleanup removing what it created', async () => {
    const drillId = '20261126t060000z-0a1b';
    const logged: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      await runDrill(drillId);
    } finally {
      process.stdout.write = write;
    }
    const lines = logged
      .join('')
      .split('\n')
      .filter((l) => l.includes('"drill step'));
    expect(lines.some((l) => l.includes('"drill step ended"') && l.includes('"step":"connect"'))).toBe(true);
    expect(logged.join('')).not.toContain(masterPassword);
  });

  it('checks function logs in once, keeps the session in the drill secret only, and cleanup blanks it', async () => {
    const drillId = '20261126t070000z-5e55';
    const logged: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
    let seen: DrillState = {};
    try {
      seen = await runDrill(drillId, {
        report: false,
        beforeCleanup: async (state) => {
          // The ECS app task of moto serves nothing: the checks talk to an app with the BT-CTS contract.
          // (The evaluate step needs the integrity step's restore point, which needs a real database.)
          const checked: DrillState = {
            ...state,
            app: { ...(state.app as NonNullable<DrillState['app']>), baseUrl: contractApp.url },
          };
          checked.smoke = {};
          checked.smoke.login = (await invoke('checks', 'smokeLogin', checked, drillId)) as never;
          const secret = JSON.parse(
            (await clients.secrets.send(new GetSecretValueCommand({ SecretId: stack.drillSecretArn })))
              .SecretString ?? '{}',
          ) as { session?: string; DATABASE_URL?: string };
          expect(secret.session).toContain('connect.sid');
          // The connection keys the app's task definition maps stay beside the session.
          expect(secret.DATABASE_URL).toContain(encodeURIComponent(masterPassword));
          checked.smoke.search = (await invoke('checks', 'smokeSearch', checked, drillId)) as never;
          checked.smoke.day = (await invoke('checks', 'smokeDay', checked, drillId)) as never;
          return checked;
        },
      });
    } finally {
      process.stdout.write = write;
    }
    expect(contractApp.logins()).toBe(1);
    expect(contractApp.requests).toEqual([
      { method: 'POST', path: '/api/auth/login', withSession: false },
      { method: 'GET', path: '/api/auth/me', withSession: true },
      { method: 'GET', path: '/api/accounts/search?q=a', withSession: true },
      { method: 'GET', path: '/api/day/current', withSession: true },
    ]);
    const everything = [JSON.stringify(seen), logged.join('')];
    expect(contractApp.issued.length).toBeGreaterThan(0);
    for (const secret of [...contractApp.issued, 'admin-pass-5150', masterPassword]) {
      for (const text of everything) expect(text.includes(secret), `"${secret}" written`).toBe(false);
    }
  });

  /**
   * A drill through the control and reporting functions; `beforeCleanup` runs the checks in
   * between (and returns the state they left), `report: false` ends the drill at cleanup.
   */
  async function runDrill(
    drillId: string,
    options: { beforeCleanup?: (state: DrillState) => Promise<DrillState>; report?: boolean } = {},
  ): Promise<DrillState> {
    const state: DrillState = { targetTime: 'latest', reason: 'quarterly drill' };
    state.drill = (await invoke('control', 'validate', state, drillId)) as DrillState['drill'];
    expect(state.drill?.instanceId).toBe(`recovery-drill-${drillId}`);
    state.restore = (await invoke('control', 'restore', state, drillId)) as DrillState['restore'];
    state.restoreStatus = (await invoke(
      'control',
      'describeRestore',
      state,
      drillId,
    )) as DrillState['restoreStatus'];
    expect(state.restoreStatus?.status).toBe('available');
    state.connection = (await invoke('control', 'connect', state, drillId)) as DrillState['connection'];
    expect(state.connection?.secretRef).toBe(stack.drillSecretArn);
    state.app = (await invoke('control', 'startApp', state, drillId)) as DrillState['app'];
    expect(state.app?.handle).toMatch(/:task\//);
    // Nothing a step returns holds the password: the state machine would log it with the execution data.
    expect(JSON.stringify(state)).not.toContain(masterPassword);
    if (options.beforeCleanup) Object.assign(state, await options.beforeCleanup(state));

    state.cleanup = (await invoke('control', 'cleanup', state, drillId)) as DrillState['cleanup'];
    expect(state.cleanup?.removed).toEqual([
      state.app?.handle,
      `secret of ${drillId}`,
      `recovery-drill-${drillId}`,
    ]);
    const instance = await clients.rds
      .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `recovery-drill-${drillId}` }))
      .then((out) => out.DBInstances?.[0]?.DBInstanceStatus ?? 'gone')
      .catch((e: Error) => (e.name === 'DBInstanceNotFoundFault' ? 'gone' : Promise.reject(e)));
    expect(['gone', 'deleting']).toContain(instance);
    const tasks = await clients.ecs.send(
      new ListTasksCommand({
        cluster: stack.clusterArn,
        startedBy: drillId,
        desiredStatus: 'RUNNING',
      }),
    );
    expect(tasks.taskArns).toEqual([]);
    const secret = await clients.secrets.send(new GetSecretValueCommand({ SecretId: stack.drillSecretArn }));
    expect(JSON.parse(secret.SecretString ?? '')).toEqual({ cleared: true });
    if (options.report === false) return state;

    // The reporting function writes the report to the bucket and notifies the topic.
    state.failures = {
      detectDrift: {
        Error: 'MigrationDriftError',
        Cause: JSON.stringify({ errorType: 'MigrationDriftError', errorMessage: 'schema drift: 1 modified' }),
      },
    };
    const report = (await invoke('reporting', 'report', state, drillId)) as NonNullable<DrillState['report']>;
    expect(report.passed).toBe(false);
    expect(report.location?.markdown).toBe(`s3://backup-bucket/reports/${drillId}/report.md`);
    const markdown = await (
      await clients.s3.send(
        new GetObjectCommand({ Bucket: 'backup-bucket', Key: `reports/${drillId}/report.md` }),
      )
    ).Body?.transformToString();
    expect(markdown).toContain(drillId);
    expect(markdown).not.toContain(masterPassword);
    state.report = report;
    const notified = (await invoke('reporting', 'notify', state, drillId)) as { published: number };
    expect(notified.published).toBe(report.escalations.length + 1);
    const messages = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(messages.Messages).toHaveLength(notified.published);
    expect(JSON.stringify(messages.Messages)).not.toContain(masterPassword);
    return state;
  }

  it('checks function smoke-tests the app it is given', async () => {
    const state: DrillState = { app: { baseUrl: appUrl, handle: 'staging' } as DrillState['app'] };
    const result = (await invoke('checks', 'smokeHealth', state, 'd-smoke')) as { detail: string };
    expect(result.detail).toContain('GET /health: 200');
  });

  it('checks function fails a failed migrate task with the error name Step Functions matches', async () => {
    const state = {
      drift: { pending: ['20261101000000_add_index'] },
      migrateTask: { exitCode: 1, stoppedReason: 'Essential container in task exited', taskArn: 'arn:t' },
    } as unknown as DrillState;
    await expect(invoke('checks', 'verifyMigration', state, 'd-migrate')).rejects.toMatchObject({
      name: 'MigrationFailedError',
    });
  });

  it("each function refuses a step of another function's group", async () => {
    await expect(invoke('checks', 'cleanup', {}, 'd-wrong')).rejects.toMatchObject({
      name: 'WrongFunctionError',
    });
    await expect(invoke('reporting', 'restore', {}, 'd-wrong')).rejects.toMatchObject({
      name: 'WrongFunctionError',
    });
    await expect(invoke('control', 'report', {}, 'd-wrong')).rejects.toMatchObject({
      name: 'WrongFunctionError',
    });
  });

  it('validation refuses bad input with DrillInputError and creates nothing', async () => {
    const state = { targetTime: '2026-11-26T03:00:00', color: 'blue' } as unknown as DrillState;
    await expect(invoke('control', 'validate', state, 'd-bad')).rejects.toMatchObject({
      name: 'DrillInputError',
    });
    const instances = await clients.rds.send(new DescribeDBInstancesCommand({}));
    expect(instances.DBInstances?.map((i) => i.DBInstanceIdentifier)).not.toContain('recovery-drill-d-bad');
  });
});
