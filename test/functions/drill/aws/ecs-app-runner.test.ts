import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcsAppRunner, STAGING_HANDLE } from '../../../../functions/drill/adapters/aws/ecs-app-runner.ts';
import { type Moto, startMoto } from '../../../support/moto.ts';
import { createAppTask, defaultNetwork, motoClients, REGION } from './support.ts';

describe('ECS app runner against moto', () => {
  let moto: Moto;
  let ecs: ECSClient;
  let task: {
    clusterArn: string;
    taskDefinitionArn: string;
    subnetIds: string[];
    securityGroupIds: string[];
  };

  beforeAll(async () => {
    moto = await startMoto();
    ecs = motoClients(moto.endpoint).ecs;
    const network = await defaultNetwork(moto.endpoint);
    task = await createAppTask(ecs, network);
  });
  afterAll(async () => {
    ecs?.destroy();
    await moto?.stop();
  });

  const runner = () => new EcsAppRunner(ecs, { stagingBaseUrl: null, port: 3000, task, pollSeconds: 0 });
  const running = async (drillId: string) =>
    (
      await ecs.send(
        new ListTasksCommand({ cluster: task.clusterArn, startedBy: drillId, desiredStatus: 'RUNNING' }),
      )
    ).taskArns ?? [];

  it("starts the app task started by the drill id, private only, and answers with the task's private IP", async () => {
    const app = await runner().start('d1', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:drill');
    expect(app.handle).toMatch(/^arn:aws:ecs:.*:task\//);
    expect(app.baseUrl).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:3000$/);
    expect(await running('d1')).toEqual([app.handle]);
    const described = (
      await ecs.send(new DescribeTasksCommand({ cluster: task.clusterArn, tasks: [app.handle] }))
    ).tasks?.[0];
    expect(described?.startedBy).toBe('d1');
    expect(described?.launchType).toBe('FARGATE');
  });

  it("stops every task of the drill and none of another drill's", async () => {
    const first = await runner().start('d2', 'ref');
    const other = await runner().start('d3', 'ref');
    const stopped = await runner().stopAll('d2');
    expect(stopped).toEqual([first.handle]);
    expect(await running('d2')).toEqual([]);
    expect(await running('d3')).toEqual([other.handle]);
    expect(await runner().stopAll('d2')).toEqual([]);
  });

  it('uses the staging URL instead of starting a task when one is configured', async () => {
    const staging = new EcsAppRunner(ecs, {
      stagingBaseUrl: 'https://staging.bt-cts.example/',
      port: 3000,
      task,
    });
    expect(await staging.start('d4', 'ref')).toEqual({
      baseUrl: 'https://staging.bt-cts.example',
      handle: STAGING_HANDLE,
    });
    expect(await running('d4')).toEqual([]);
  });
});

// moto reports a Fargate task RUNNING at once; the wait for PROVISIONING → RUNNING, a task that stops
// before it runs, and the bounded wait need states moto does not produce, so they use a mocked client.
describe('ECS app runner start wait', () => {
  const task = {
    clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/recovery-drill',
    taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/bt-cts-app:1',
    subnetIds: ['subnet-0123456789abcdef0'],
    securityGroupIds: ['sg-0123456789abcdef0'],
  };
  const taskArn = 'arn:aws:ecs:eu-west-1:123456789012:task/recovery-drill/abc';
  const withIp = (lastStatus: string, stoppedReason?: string) => ({
    taskArn,
    lastStatus,
    ...(stoppedReason ? { stoppedReason } : {}),
    attachments: [
      { type: 'ElasticNetworkInterface', details: [{ name: 'privateIPv4Address', value: '10.0.3.7' }] },
    ],
  });
  const runner = (timeoutSeconds = 60) =>
    new EcsAppRunner(new ECSClient({ region: REGION }), {
      stagingBaseUrl: null,
      port: 8080,
      task,
      startTimeoutSeconds: timeoutSeconds,
      pollSeconds: 5,
      sleep: async () => {},
    });

  it('waits until the task is RUNNING and starts it without a public IP, started by the drill id', async () => {
    const mock = mockClient(ECSClient);
    mock.on(RunTaskCommand).resolves({ tasks: [{ taskArn, lastStatus: 'PROVISIONING' }] });
    mock
      .on(DescribeTasksCommand)
      .resolvesOnce({ tasks: [withIp('PENDING')] })
      .resolves({ tasks: [withIp('RUNNING')] });
    expect(await runner().start('d1', 'ref')).toEqual({ baseUrl: 'http://10.0.3.7:8080', handle: taskArn });
    expect(mock.commandCalls(DescribeTasksCommand)).toHaveLength(2);
    const input = mock.commandCalls(RunTaskCommand)[0]?.args[0].input;
    expect(input?.networkConfiguration?.awsvpcConfiguration?.assignPublicIp).toBe('DISABLED');
    expect(input?.startedBy).toBe('d1');
    expect(input?.overrides).toBeUndefined();
    mock.restore();
  });

  it('fails with the stopped reason when the task stops before it runs', async () => {
    const mock = mockClient(ECSClient);
    mock.on(RunTaskCommand).resolves({ tasks: [{ taskArn, lastStatus: 'PROVISIONING' }] });
    mock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [withIp('STOPPED', 'CannotPullContainerError: image not found')] });
    await expect(runner().start('d1', 'ref')).rejects.toMatchObject({
      name: 'AppStartError',
      message: expect.stringContaining('CannotPullContainerError'),
    });
    mock.restore();
  });

  it('stops the task and fails when it is not RUNNING within the start timeout', async () => {
    const mock = mockClient(ECSClient);
    mock.on(RunTaskCommand).resolves({ tasks: [{ taskArn, lastStatus: 'PROVISIONING' }] });
    mock.on(DescribeTasksCommand).resolves({ tasks: [withIp('PENDING')] });
    mock.on(StopTaskCommand).resolves({});
    await expect(runner(20).start('d1', 'ref')).rejects.toThrow(/still PENDING after 20 s; it was stopped/);
    expect(mock.commandCalls(StopTaskCommand)[0]?.args[0].input.task).toBe(taskArn);
    mock.restore();
  });

  it("stops every page of the drill's tasks (ListTasks pages: moto returns one page)", async () => {
    const mock = mockClient(ECSClient);
    mock
      .on(ListTasksCommand)
      .resolvesOnce({ taskArns: [`${taskArn}1`], nextToken: 'page-2' })
      .resolves({ taskArns: [`${taskArn}2`] });
    mock.on(StopTaskCommand).resolves({});
    expect(await runner().stopAll('d1')).toEqual([`${taskArn}1`, `${taskArn}2`]);
    expect(mock.commandCalls(StopTaskCommand)).toHaveLength(2);
    mock.restore();
  });
});
