import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config.ts';
import { encodeSettings, SETTINGS_VARIABLE } from '../../functions/core/settings.ts';
import type { StartedDrill } from '../../functions/drill/adapters/aws/start.ts';
import { MOTO_ACCOUNT_ID, type Moto, startMoto } from '../support/moto.ts';
import { createSource, motoClients, REGION, useLambdaEnvironment } from './drill/aws/support.ts';

type Handler = (event: unknown, context: Context) => Promise<StartedDrill>;

const context = {
  functionName: 'drill-start',
  awsRequestId: 'req-1',
  invokedFunctionArn: `arn:aws:lambda:${REGION}:${MOTO_ACCOUNT_ID}:function:drill-start`,
  memoryLimitInMB: '128',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

describe('drill start function', () => {
  let moto: Moto;
  let clients: ReturnType<typeof motoClients>;
  let stateMachineArn: string;
  let handler: Handler;
  let restoreEnv: () => void = () => undefined;

  beforeAll(async () => {
    moto = await startMoto();
    clients = motoClients(moto.endpoint);
    await createSource(clients.rds);
    stateMachineArn = (
      await clients.sfn.send(
        new CreateStateMachineCommand({
          name: 'recovery-drill',
          roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/drill`,
          definition: JSON.stringify({
            StartAt: 'Drill',
            States: { Drill: { Type: 'Wait', Seconds: 3600, End: true } },
          }),
        }),
      )
    ).stateMachineArn as string;
    const config = parseConfig({
      source: { dbInstanceIdentifier: 'bt-cts-prod', region: REGION },
      isolation: { copyRegion: 'eu-central-1' },
    });
    restoreEnv = useLambdaEnvironment(moto.endpoint, {
      [SETTINGS_VARIABLE]: encodeSettings('drillStart', config, {
        stateMachineArn,
        copyRegionStateMachineArn: null,
      }),
    });
    handler = (await import('../../functions/drill-start.ts')).handler as unknown as Handler;
  });

  afterAll(async () => {
    restoreEnv();
    for (const client of Object.values(clients ?? {})) client.destroy();
    await moto?.stop();
  });

  const executions = async () =>
    (await clients.sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
  /** Ends every running drill, so a test starts from "nothing running". */
  const stopRunning = async () => {
    for (const e of await executions())
      if (e.status === 'RUNNING')
        await clients.sfn.send(new StopExecutionCommand({ executionArn: e.executionArn }));
  };

  it('refuses bad input before anything starts, naming every bad field', async () => {
    await stopRunning();
    const before = (await executions()).length;
    const attempt = handler(
      { targetTime: '2026-11-26 03:00', reason: 'x'.repeat(201), colour: 'red' },
      context,
    );
    await expect(attempt).rejects.toMatchObject({ name: 'DrillInputError' });
    await expect(attempt).rejects.toThrow(
      /targetTime[\s\S]*reason[\s\S]*colour|colour[\s\S]*targetTime[\s\S]*reason/,
    );
    await expect(
      handler({ targetTime: new Date(Date.now() + 3_600_000).toISOString() }, context),
    ).rejects.toThrow(/not in the future/);
    expect(await executions()).toHaveLength(before);
  });

  it('starts the scheduled drill as an execution named with a new drill id', async () => {
    await stopRunning();
    const started = await handler({}, context);
    expect(started.drillId).toMatch(/^\d{8}t\d{6}z-[0-9a-f]{4}$/);
    const described = await clients.sfn.send(
      new DescribeExecutionCommand({ executionArn: started.executionArn }),
    );
    expect(described.name).toBe(started.drillId);
    expect(described.status).toBe('RUNNING');
    expect(JSON.parse(described.input ?? '{}')).toEqual({
      targetTime: 'latest',
      reason: null,
      requestedBy: null,
      dryRun: false,
    });
  });

  it('refuses to start while another drill is running, and starts once it has ended', async () => {
    await stopRunning();
    const first = await handler({ reason: 'first one' }, context);
    const before = (await executions()).length;
    const attempt = handler({ reason: 'second one' }, context);
    await expect(attempt).rejects.toMatchObject({
      name: 'DrillAlreadyRunningError',
      executionArn: first.executionArn,
    });
    await expect(attempt).rejects.toThrow(/another drill is running/);
    expect(await executions()).toHaveLength(before);
    await clients.sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
    const started = await handler({ reason: 'after the first', requestedBy: 'on-call' }, context);
    expect(started.input).toMatchObject({ reason: 'after the first', requestedBy: 'on-call' });
    expect(await executions()).toHaveLength(before + 1);
  });
});
