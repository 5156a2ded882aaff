/**
 * Cleanup after an aborted drill execution, against moto: a drill instance and an app task left
 * by an execution that timed out are removed by the drill's own cleanup, what was removed is
 * published to the topic; an instance that is drill-named but not drill-tagged is refused and
 * CLEANUP_FAILED is published; a bad event touches nothing.
 */
import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { CreateDBSubnetGroupCommand, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAwsDrillDeps } from '../../../../functions/drill/adapters/aws/deps.ts';
import { drillEnvOf } from '../../../../functions/drill/adapters/aws/env.ts';
import { drillInstanceId } from '../../../../functions/drill/drill-id.ts';
import {
  AbortCleanupEventError,
  cleanUpAfterExecution,
} from '../../../../functions/drill/drivers/aws/abort-cleanup.ts';
import { DRILL_ID_TAG } from '../../../../functions/drill/ports/database-recovery.ts';
import type { JobLogger } from '../../../../functions/shared/powertools.ts';
import { type Moto, startMoto } from '../../../support/moto.ts';
import {
  createAppTask,
  createDrillSecret,
  createPlainInstance,
  createSource,
  defaultNetwork,
  drillConfig,
  motoClients,
  REGION,
} from './support.ts';

const STATE_MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:drill`;
const quiet: JobLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function ended(name: string, status: string, stateMachineArn = STATE_MACHINE) {
  return {
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn: `arn:aws:states:${REGION}:123456789012:execution:drill:${name}`,
      stateMachineArn,
      name,
      status,
    },
  };
}

describe('cleanup after an aborted drill execution, against moto', () => {
  let moto: Moto;
  let clients: ReturnType<typeof motoClients>;
  let deps: Parameters<typeof cleanUpAfterExecution>[1];
  let queueUrl: string;
  let clusterArn: string;
  /** The metrics each cleanup published (the stack alarms on JobFailed with job abortCleanup). */
  const recorded: { name: string; value: number; dimensions?: Record<string, string> }[] = [];
  const failedJobs = () => {
    const out = recorded.filter((m) => m.name === 'JobFailed').map((m) => [m.dimensions?.job, m.value]);
    recorded.length = 0;
    return out;
  };
  const config = drillConfig({ app: { image: 'bt-cts:latest' } } as never);

  beforeAll(async () => {
    moto = await startMoto();
    clients = motoClients(moto.endpoint);
    const { rds, secrets, ecs, sns, sqs } = clients;
    await createSource(rds);
    const network = await defaultNetwork(moto.endpoint);
    await rds.send(
      new CreateDBSubnetGroupCommand({
        DBSubnetGroupName: 'recovery-drill-isolated',
        DBSubnetGroupDescription: 'isolated',
        SubnetIds: [network.subnetId],
      }),
    );
    const drillSecretArn = await createDrillSecret(secrets);
    const appTask = await createAppTask(ecs, network);
    clusterArn = appTask.clusterArn;
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'escalations' }))).TopicArn as string;
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'escalations-q' }))).QueueUrl as string;
    const queueArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));
    const env = drillEnvOf({
      config,
      resources: {
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
      },
    });
    const drill = buildAwsDrillDeps({ config, env, clients, appStart: { pollSeconds: 0 } });
    deps = {
      drill,
      sns,
      topicArn,
      stateMachineArn: STATE_MACHINE,
      logger: quiet,
      metrics: { addMetric: (name, _unit, value, dimensions) => recorded.push({ name, value, dimensions }) },
    };
  });
  afterAll(async () => {
    for (const client of Object.values(clients ?? {})) client.destroy();
    await moto?.stop();
  });

  /** Messages the topic delivered to the queue (SNS wraps each one). */
  async function published(): Promise<
    { subject: string; attributes: Record<string, string>; body: unknown }[]
  > {
    const out = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    return (out.Messages ?? []).map((m: Message) => {
      const envelope = JSON.parse(m.Body ?? '{}');
      const attributes = Object.fromEntries(
        Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, (v as { Value: string }).Value]),
      );
      return { subject: envelope.Subject, attributes, body: JSON.parse(envelope.Message) };
    });
  }

  const instanceStatus = async (id: string) =>
    clients.rds
      .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))
      .then((o) => o.DBInstances?.[0]?.DBInstanceStatus ?? null)
      .catch((e: Error) => (e.name === 'DBInstanceNotFoundFault' ? 'gone' : Promise.reject(e)));

  it('removes the instance and the app task a timed-out drill left, and says what it removed', async () => {
    const drillId = '20261201t100000z-0a1b';
    const instanceId = drillInstanceId(config.drill.instancePrefix, drillId);
    await deps.drill.recovery.restoreToPointInTime({
      instanceId,
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: drillId },
    });
    const app = await deps.drill.app.start(drillId, 'unused-secret-ref');
    const other = await deps.drill.app.start('20261201t090000z-ffff', 'unused-secret-ref');

    const result = await cleanUpAfterExecution(ended(drillId, 'TIMED_OUT'), deps);

    expect(result).toMatchObject({ drillId, status: 'TIMED_OUT', published: 'resolution', problem: null });
    expect(result.removed).toEqual(expect.arrayContaining([app.handle, instanceId]));
    expect(['gone', 'deleting']).toContain(await instanceStatus(instanceId));
    const running = await clients.ecs.send(
      new ListTasksCommand({ cluster: clusterArn, startedBy: drillId, desiredStatus: 'RUNNING' }),
    );
    expect(running.taskArns ?? []).toEqual([]);
    // Another drill's task is not touched.
    const kept = await clients.ecs.send(
      new DescribeTasksCommand({ cluster: clusterArn, tasks: [other.handle] }),
    );
    expect(kept.tasks?.[0]?.lastStatus).not.toBe('STOPPED');

    const messages = await published();
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message?.subject).toContain('RECOVERED CLEANUP_FAILED');
    expect(message?.attributes.severity).toBe('info');
    const machine = JSON.stringify(message?.body);
    expect(machine).toContain(instanceId);
    expect(machine).toContain('TIMED_OUT');
    expect(machine).not.toMatch(/password|postgresql:\/\//i);
    expect(failedJobs()).toEqual([['abortCleanup', 0]]);
  });

  it('refuses an instance named like a drill but without the drill tag, and escalates CLEANUP_FAILED', async () => {
    const drillId = '20261201t110000z-2c3d';
    const instanceId = drillInstanceId(config.drill.instancePrefix, drillId);
    await createPlainInstance(clients.rds, instanceId);

    const result = await cleanUpAfterExecution(ended(drillId, 'ABORTED'), deps);

    expect(result).toMatchObject({ drillId, status: 'ABORTED', published: 'escalation' });
    expect(result.problem).toContain(instanceId);
    expect(await instanceStatus(instanceId)).toBe('available');
    const messages = await published();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.subject).toContain('CLEANUP_FAILED');
    expect(messages[0]?.attributes.severity).toBe('high');
    expect(failedJobs()).toEqual([['abortCleanup', 1]]);
  });

  it("leaves the drill secret alone when it holds a newer drill's connection, and blanks it for its own drill", async () => {
    const newer = '20261201t140000z-8c9d';
    const newerInstance = drillInstanceId(config.drill.instancePrefix, newer);
    await deps.drill.recovery.restoreToPointInTime({
      instanceId: newerInstance,
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: newer },
    });
    const described = await deps.drill.recovery.describeInstance(newerInstance);
    if (!described) throw new Error('moto did not restore the newer drill instance');
    const { secretRef } = await deps.drill.secrets.writeConnection(newer, described);
    const holder = async () =>
      JSON.parse(
        (await clients.secrets.send(new GetSecretValueCommand({ SecretId: secretRef }))).SecretString ?? '{}',
      ) as { drillId?: string; DATABASE_URL?: string; cleared?: boolean };

    // An older execution's FAILED event arrives while the newer drill runs.
    const late = await cleanUpAfterExecution(ended('20261201t135000z-7b8c', 'FAILED'), deps);
    expect(late).toMatchObject({ published: 'none', problem: null });
    expect(late.removed).toEqual([]);
    expect(await holder()).toMatchObject({ drillId: newer, DATABASE_URL: expect.any(String) });
    expect(await instanceStatus(newerInstance)).toBe('available');

    // The newer drill's own aborted execution: its secret is blanked, its instance removed.
    const own = await cleanUpAfterExecution(ended(newer, 'ABORTED'), deps);
    expect(own).toMatchObject({ published: 'resolution', problem: null });
    expect(own.removed).toEqual(expect.arrayContaining([`secret of ${newer}`, newerInstance]));
    expect(await holder()).toEqual({ cleared: true });
    expect(await published()).toHaveLength(1);
  });

  it('only logs when a failed drill had already cleaned up after itself', async () => {
    const result = await cleanUpAfterExecution(ended('20261201t120000z-4e5f', 'FAILED'), deps);
    expect(result).toMatchObject({ published: 'none', problem: null });
    expect(await published()).toEqual([]);
  });

  it('refuses an event of another state machine or status, naming the field, and touches nothing', async () => {
    const drillId = '20261201t130000z-6a7b';
    const instanceId = drillInstanceId(config.drill.instancePrefix, drillId);
    await deps.drill.recovery.restoreToPointInTime({
      instanceId,
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: drillId },
    });
    await expect(cleanUpAfterExecution(ended(drillId, 'SUCCEEDED'), deps)).rejects.toThrow(
      new AbortCleanupEventError('detail.status must be one of TIMED_OUT, ABORTED, FAILED, got "SUCCEEDED"'),
    );
    const elsewhere = `arn:aws:states:${REGION}:123456789012:stateMachine:production-jobs`;
    await expect(cleanUpAfterExecution(ended(drillId, 'ABORTED', elsewhere), deps)).rejects.toThrow(
      /detail\.stateMachineArn must be the drill state machine .*production-jobs/,
    );
    await expect(cleanUpAfterExecution({ detail: { status: 'ABORTED' } }, deps)).rejects.toThrow(
      'detail.stateMachineArn must be a non-empty string, got null',
    );
    expect(await instanceStatus(instanceId)).toBe('available');
    expect(await published()).toEqual([]);
  });
});
