import { createRequire } from 'node:module';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { describe, expect, it } from 'vitest';
import { extractDefinition } from '../../../functions/drill/asl.ts';
import {
  runDefinitionLocally,
  taskStateNames,
  UnboundTaskError,
} from '../../../functions/drill/local-state-machine.ts';

const validate = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
};

/** A small machine with the shapes the drill uses: Lambda tasks, a Wait/Describe/Choice loop, Catch, SNS. */
function synthesizeExample(): Record<string, unknown> {
  const app = new App();
  const stack = new Stack(app, 'Example', { env: { region: 'eu-west-1' } });
  const fn = new lambda.Function(stack, 'StepFunction', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  const topic = new sns.Topic(stack, 'Topic');
  const start = new tasks.LambdaInvoke(stack, 'Start', {
    lambdaFunction: fn,
    payload: sfn.TaskInput.fromObject({ step: 'start', 'input.$': '$' }),
    resultSelector: { 'value.$': '$.Payload' },
    resultPath: '$.start',
  });
  const poll = new sfn.Wait(stack, 'Poll', { time: sfn.WaitTime.secondsPath('$.start.value.waitSeconds') });
  const describe_ = new tasks.LambdaInvoke(stack, 'Describe', {
    lambdaFunction: fn,
    payload: sfn.TaskInput.fromObject({ step: 'describe', 'count.$': '$.start.value.count' }),
    resultSelector: { 'value.$': '$.Payload' },
    resultPath: '$.start',
  });
  const notify = new tasks.SnsPublish(stack, 'Notify', {
    topic,
    message: sfn.TaskInput.fromJsonPathAt('$.start.value.message'),
    resultPath: sfn.JsonPath.DISCARD,
  });
  const failed = new sfn.Fail(stack, 'Failed', { error: 'ExampleFailed' });
  start.addCatch(failed, { resultPath: '$.failure' });
  const definition = start
    .next(poll)
    .next(describe_)
    .next(
      new sfn.Choice(stack, 'Done?')
        .when(
          sfn.Condition.numberGreaterThanEquals('$.start.value.count', 3),
          notify.next(new sfn.Succeed(stack, 'Ok')),
        )
        .otherwise(poll),
    );
  new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    timeout: Duration.minutes(5),
  });
  return Template.fromStack(stack).toJSON();
}

describe('local state machine engine', () => {
  const definition = extractDefinition(synthesizeExample() as never);

  it('extracts plain ASL from the synthesized template, tokens resolved', () => {
    expect(taskStateNames(definition).sort()).toEqual(['Describe', 'Notify', 'Start']);
    const text = JSON.stringify(definition);
    expect(text).toContain('arn:aws:lambda:eu-west-1:123456789012:function:StepFunction');
    expect(text).not.toMatch(/Fn::|"Ref"/);
    expect(validate(structuredClone(definition)).errors).toEqual([]);
  });

  it('runs the definition with every Task bound to a local function, loops and all', async () => {
    const messages: unknown[] = [];
    const result = await runDefinitionLocally(
      definition,
      { drill: 'x' },
      {
        handlers: {
          Start: () => ({ Payload: { count: 0, waitSeconds: 30 } }),
          Describe: (input) => {
            const count = ((input as { Payload: { count: number } }).Payload.count ?? 0) + 1;
            return { Payload: { count, waitSeconds: 30, message: `done after ${count}` } };
          },
          Notify: (input) => {
            messages.push((input as { Message: unknown }).Message);
            return { MessageId: 'local' };
          },
        },
        waitTimeOverrides: { Poll: 0 },
      },
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(messages).toEqual(['done after 3']);
    expect(result.events.filter((e) => e.type === 'StateEntered' && e.state === 'Describe')).toHaveLength(3);
  });

  it('routes a failing Task through its Catch and reports the error', async () => {
    const result = await runDefinitionLocally(
      definition,
      {},
      {
        handlers: {
          Start: () => {
            const error = new Error('restore refused');
            error.name = 'RestoreFailedError';
            throw error;
          },
          Describe: () => ({}),
          Notify: () => ({}),
        },
      },
    );
    expect(result).toMatchObject({ status: 'FAILED', error: 'ExampleFailed' });
    expect(result.events.some((e) => e.type === 'StateCaught' && e.state === 'Start')).toBe(true);
  });

  it('refuses to run when a Task state has no local implementation', async () => {
    await expect(runDefinitionLocally(definition, {}, { handlers: { Start: () => ({}) } })).rejects.toThrow(
      UnboundTaskError,
    );
  });
});
