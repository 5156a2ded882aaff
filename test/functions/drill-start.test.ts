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

const COPY_REGION = 'eu-central-1';

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
  let copyStateMachineArn: string;
  let copySfn: ReturnType<typeof motoClients>['sfn'];
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
    copySfn = motoClients(moto.endpoint, COPY_REGION).sfn;
    copyStateMachineArn = (
      await copySfn.send(
        new CreateStateMachineCommand({
          name: 'RecoveryDrillCopyRegionDrill',
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
      isolation: { copyRegion: COPY_REGION },
      // The rotation under test: the 1st drill of a year from the source, the 2nd from the copy.
      schedules: { drillFrom: ['source', 'isolated-snapshot'] },
    });
    restoreEnv = useLambdaEnvironment(moto.endpoint, {
      [SETTINGS_VARIABLE]: encodeSettings('drillStart', config, {
        stateMachineArn,
        copyRegionStateMachineArn: copyStateMachineArn,
      }),
    });
    handler = (await import('../../functions/drill-start.ts')).handler as unknown as Handler;
  });

  afterAll(async () => {
    restoreEnv();
    for (const client of Object.values(clients ?? {})) client.destroy();
    copySfn?.destroy();
    await moto?.stop();
  });

  const executions = async () =>
    (await clients.sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
  const copyExecutions = async () =>
    (await copySfn.send(new ListExecutionsCommand({ stateMachineArn: copyStateMachineArn }))).executions ??
    [];
  /** Ends every running drill, so a test starts from "nothing running". */
  const stopRunning = async () => {
    for (const e of [...(await executions()), ...(await copyExecutions())])
      if (e.status === 'RUNNING')
        await (e.stateMachineArn === copyStateMachineArn ? copySfn : clients.sfn).send(
          new StopExecutionCommand({ executionArn: e.executionArn }),
        );
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
      from: 'source',
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

  it('starts a scheduled drill from the rotation: the source in January, the copy region in April', async () => {
    await stopRunning();
    const january = await handler(
      { reason: 'quarterly drill (schedule)', requestedBy: 'schedule', scheduledAt: '2027-01-04T06:00:00Z' },
      context,
    );
    expect(january.input.from).toBe('source');
    expect(january.executionArn).toContain(`:states:${REGION}:`);
    await stopRunning();
    const april = await handler(
      { reason: 'quarterly drill (schedule)', requestedBy: 'schedule', scheduledAt: '2027-04-05T06:00:00Z' },
      context,
    );
    expect(april.input.from).toBe('isolated-snapshot');
    // Started in the region of its data, by the state machine there.
    expect(april.executionArn).toContain(`:states:${COPY_REGION}:`);
    const [running] = (await copyExecutions()).filter((e) => e.status === 'RUNNING');
    expect(running?.name).toBe(april.drillId);
  });

  it('names a scheduled drill by its scheduled time: a second firing starts no second drill', async () => {
    await stopRunning();
    const event = { requestedBy: 'schedule', scheduledAt: '2027-07-05T06:00:00Z' };
    const first = await handler(event, context);
    expect(first.drillId).toBe('20270705t060000z-0000');
    await expect(handler(event, context)).rejects.toMatchObject({ name: 'DrillAlreadyRunningError' });
    await clients.sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
    // Ended: Step Functions refuses the same name again (ExecutionAlreadyExists), still no second drill.
    const before = (await executions()).length;
    await expect(handler(event, context)).rejects.toThrow();
    expect(await executions()).toHaveLength(before);
  });

  it('refuses a drill while one runs in the other region, and a copy with nothing replicated', async () => {
    await stopRunning();
    const started = await handler({ from: 'isolated-snapshot', reason: 'by hand' }, context);
    expect(started.executionArn).toContain(`:states:${COPY_REGION}:`);
    await expect(handler({ reason: 'from the source meanwhile' }, context)).rejects.toMatchObject({
      name: 'DrillAlreadyRunningError',
      executionArn: started.executionArn,
    });
    await stopRunning();
    const before = (await copyExecutions()).length;
    // No replicated backups in moto: refused in the copy region before anything starts.
    await expect(handler({ from: 'isolated-region' }, context)).rejects.toThrow(/replicated to eu-central-1/);
    expect(await copyExecutions()).toHaveLength(before);
  });
});
