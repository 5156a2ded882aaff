import { describe, expect, it } from 'vitest';
import { readDrillEnv, readStartEnv } from '../../../../functions/drill/adapters/aws/env.ts';
import { EnvironmentError } from '../../../../functions/shared/env.ts';

const complete = (): Record<string, string> => ({
  BACKUP_BUCKET: 'recovery-drill-backups-123',
  TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:escalations',
  DRILL_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:drill-AbCdEf',
  DRILL_DB_SUBNET_GROUP: 'recovery-drill-isolated',
  DRILL_DB_SECURITY_GROUP_IDS: 'sg-0123456789abcdef0',
  ECS_CLUSTER_ARN: 'arn:aws:ecs:eu-west-1:123456789012:cluster/recovery-drill',
  APP_TASK_DEFINITION_ARN: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/app:3',
  APP_SUBNET_IDS: 'subnet-0123456789abcdef0, subnet-0123456789abcdef1',
  APP_SECURITY_GROUP_IDS: 'sg-0123456789abcdef1',
});

describe('drill function environment', () => {
  it('reads every variable, lists split on commas', () => {
    const env = readDrillEnv(complete(), true);
    expect(env.app?.subnetIds).toEqual(['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']);
    expect(env.dbSecurityGroupIds).toEqual(['sg-0123456789abcdef0']);
  });

  it('needs no ECS variables when the drill smoke-tests a staging URL', () => {
    const { ECS_CLUSTER_ARN, APP_TASK_DEFINITION_ARN, APP_SUBNET_IDS, APP_SECURITY_GROUP_IDS, ...rest } =
      complete();
    expect(readDrillEnv(rest, false).app).toBeNull();
    expect(() => readDrillEnv(rest, true)).toThrow(EnvironmentError);
  });

  it('names every missing or malformed variable at once', () => {
    const { TOPIC_ARN, ...rest } = complete();
    const bad = { ...rest, APP_SUBNET_IDS: 'subnet-1,private-a', DRILL_DB_SECURITY_GROUP_IDS: '' };
    let error: EnvironmentError | undefined;
    try {
      readDrillEnv(bad, true);
    } catch (e) {
      error = e as EnvironmentError;
    }
    expect(error?.problems).toEqual([
      'TOPIC_ARN is not set (expected an SNS topic ARN)',
      'DRILL_DB_SECURITY_GROUP_IDS is not set (expected a comma-separated list of security group ids)',
      'APP_SUBNET_IDS="subnet-1,private-a": expected a comma-separated list of subnet ids',
    ]);
  });

  it('start function needs the state machine ARN', () => {
    expect(() => readStartEnv({ STATE_MACHINE_ARN: 'recovery-drill' })).toThrow(
      /STATE_MACHINE_ARN="recovery-drill": expected a Step Functions state machine ARN/,
    );
    expect(
      readStartEnv({ STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Drill' })
        .stateMachineArn,
    ).toBe('arn:aws:states:eu-west-1:123456789012:stateMachine:Drill');
  });
});
