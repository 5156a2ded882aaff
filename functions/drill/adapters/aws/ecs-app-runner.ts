/**
 * Starts the app against the drill database as an ECS Fargate task of the app's own image, in
 * private subnets without a public IP, and stops every task a drill started. The connection
 * reaches the container from the drill secret its task definition references, never from here.
 */
import {
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import type { AppHandle, AppRunner } from '../../ports/drill-deps.ts';
import { AppStartError } from '../../ports/errors.ts';
import type { AppTaskSettings } from './env.ts';

export type EcsApi = Pick<ECSClient, 'send'>;

export interface EcsAppRunnerOptions {
  /** config `app.stagingBaseUrl`: when set, no task is started and this URL is smoke-tested. */
  readonly stagingBaseUrl: string | null;
  /** config `app.port`: the port the container listens on. */
  readonly port: number;
  /** Where the app task runs; null in staging mode. */
  readonly task: AppTaskSettings | null;
  /** How long the task may take to reach RUNNING (image pull, ENI) before the start fails. */
  readonly startTimeoutSeconds?: number;
  readonly pollSeconds?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Handle of a drill that smoke-tests a staging URL instead of a task of its own. */
export const STAGING_HANDLE = 'staging';

const DEFAULT_START_TIMEOUT_SECONDS = 600;
const DEFAULT_POLL_SECONDS = 5;

function privateIp(task: Task): string | null {
  for (const attachment of task.attachments ?? []) {
    const ip = attachment.details?.find((d) => d.name === 'privateIPv4Address')?.value;
    if (ip) return ip;
  }
  return task.containers?.[0]?.networkInterfaces?.[0]?.privateIpv4Address ?? null;
}

export class EcsAppRunner implements AppRunner {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly ecs: EcsApi,
    private readonly options: EcsAppRunnerOptions,
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async start(drillId: string, _secretRef: string): Promise<AppHandle> {
    if (this.options.stagingBaseUrl) {
      return { baseUrl: this.options.stagingBaseUrl.replace(/\/+$/, ''), handle: STAGING_HANDLE };
    }
    const task = this.options.task;
    if (!task) {
      throw new AppStartError(
        'neither app.stagingBaseUrl nor an app task (ECS_CLUSTER_ARN, APP_TASK_DEFINITION_ARN) is configured',
      );
    }
    const run = await this.ecs.send(
      new RunTaskCommand({
        cluster: task.clusterArn,
        taskDefinition: task.taskDefinitionArn,
        launchType: 'FARGATE',
        count: 1,
        // startedBy marks the drill's tasks (stopAll lists by it); tags would need ecs:TagResource too.
        startedBy: drillId,
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: [...task.subnetIds],
            securityGroups: [...task.securityGroupIds],
            assignPublicIp: 'DISABLED',
          },
        },
      }),
    );
    const started = run.tasks?.[0];
    if (!started?.taskArn) {
      const failure = run.failures?.[0];
      throw new AppStartError(
        `ECS did not start the app task: ${failure ? `${failure.reason ?? 'no reason'} (${failure.arn ?? task.taskDefinitionArn})` : 'no task returned'}`,
      );
    }
    const running = await this.waitRunning(task.clusterArn, started);
    const ip = privateIp(running);
    if (!ip) throw new AppStartError(`the app task ${started.taskArn} has no private IP`);
    return { baseUrl: `http://${ip}:${this.options.port}`, handle: started.taskArn };
  }

  private async waitRunning(clusterArn: string, first: Task): Promise<Task> {
    const timeoutMs = (this.options.startTimeoutSeconds ?? DEFAULT_START_TIMEOUT_SECONDS) * 1000;
    const pollMs = (this.options.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000;
    const taskArn = first.taskArn as string;
    let task = first;
    let waited = 0;
    for (;;) {
      if (task.lastStatus === 'RUNNING') return task;
      if (
        task.lastStatus === 'STOPPED' ||
        task.lastStatus === 'DEPROVISIONING' ||
        task.lastStatus === 'STOPPING'
      ) {
        throw new AppStartError(
          `the app task ${taskArn} stopped before it ran: ${task.stoppedReason || task.containers?.[0]?.reason || 'no reason given'}`,
        );
      }
      if (waited >= timeoutMs) {
        await this.ecs
          .send(
            new StopTaskCommand({
              cluster: clusterArn,
              task: taskArn,
              reason: 'recovery-drill: did not start in time',
            }),
          )
          .catch(() => undefined);
        throw new AppStartError(
          `the app task ${taskArn} was still ${task.lastStatus ?? 'unknown'} after ${waited / 1000} s; it was stopped`,
        );
      }
      await this.sleep(pollMs);
      waited += pollMs;
      const out = await this.ecs.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: [taskArn] }));
      task = out.tasks?.[0] ?? task;
    }
  }

  async stopAll(drillId: string): Promise<string[]> {
    const task = this.options.task;
    if (!task) return [];
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.ecs.send(
        new ListTasksCommand({
          cluster: task.clusterArn,
          startedBy: drillId,
          desiredStatus: 'RUNNING',
          nextToken,
        }),
      );
      arns.push(...(page.taskArns ?? []));
      nextToken = page.nextToken || undefined;
    } while (nextToken);
    for (const arn of arns) {
      await this.ecs.send(
        new StopTaskCommand({
          cluster: task.clusterArn,
          task: arn,
          reason: `recovery-drill ${drillId}: cleanup`,
        }),
      );
    }
    return arns;
  }
}
