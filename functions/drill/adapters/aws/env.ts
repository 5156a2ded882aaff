/**
 * The drill functions' environment (set by the stack), read once at cold start. The settings that
 * describe the drill itself come from the bundled configuration; only what exists after deploy
 * (ARNs, names of resources the stack created) travels here.
 */
import { EnvironmentError } from '../../../shared/env.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** Environment of the three drill step functions (control, checks, reporting). */
export interface DrillEnv {
  /** Backup bucket: captured artifacts are read from it, reports written to it. */
  readonly bucket: string;
  /** Escalation topic. */
  readonly topicArn: string;
  /** The stack-owned drill secret the ECS task definitions read the connection from. */
  readonly drillSecretArn: string;
  /** DB subnet group of isolated subnets the drill instance is restored into. */
  readonly dbSubnetGroupName: string;
  readonly dbSecurityGroupIds: readonly string[];
  /** ECS cluster and app task: null when the configuration smoke-tests a staging URL instead. */
  readonly app: AppTaskSettings | null;
  /** The drill state machine's log group (`DRILL_LOG_GROUP`), linked from notifications; optional. */
  readonly logGroupName: string | null;
  /** The state table (`STATE_TABLE`): drill escalations fold into incidents there; optional. */
  readonly stateTable: string | null;
}

/** Where the app's ECS task runs: private subnets, no public IP. */
export interface AppTaskSettings {
  readonly clusterArn: string;
  readonly taskDefinitionArn: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
}

const ARN = (service: string) => new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]*:\\d{12}:.+$`);
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SUBNET_GROUP = /^[A-Za-z0-9 ._-]{1,255}$/;
const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;

function checker(env: Env) {
  const problems: string[] = [];
  const one = (name: string, pattern: RegExp, expected: string): string => {
    const raw = env[name];
    if (raw === undefined || raw === '' || !pattern.test(raw)) {
      problems.push(
        raw === undefined || raw === ''
          ? `${name} is not set (expected ${expected})`
          : `${name}=${JSON.stringify(raw)}: expected ${expected}`,
      );
      return '';
    }
    return raw;
  };
  const list = (name: string, pattern: RegExp, expected: string): string[] => {
    const raw = env[name] ?? '';
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (items.length === 0 || items.some((s) => !pattern.test(s))) {
      problems.push(
        raw.trim() === ''
          ? `${name} is not set (expected a comma-separated list of ${expected})`
          : `${name}=${JSON.stringify(raw)}: expected a comma-separated list of ${expected}`,
      );
      return [];
    }
    return items;
  };
  const done = <T>(value: T): T => {
    if (problems.length > 0) throw new EnvironmentError(problems);
    return value;
  };
  return { one, list, done };
}

/**
 * @param needsApp false when the configuration sets `app.stagingBaseUrl`: no ECS task is started,
 * so the ECS variables may be left out (empty).
 * @throws EnvironmentError naming every missing or malformed variable.
 */
export function readDrillEnv(env: Env, needsApp: boolean): DrillEnv {
  const c = checker(env);
  const base = {
    bucket: c.one('BACKUP_BUCKET', BUCKET, 'an S3 bucket name'),
    topicArn: c.one('TOPIC_ARN', ARN('sns'), 'an SNS topic ARN'),
    drillSecretArn: c.one('DRILL_SECRET_ARN', ARN('secretsmanager'), 'a Secrets Manager secret ARN'),
    dbSubnetGroupName: c.one('DRILL_DB_SUBNET_GROUP', SUBNET_GROUP, 'an RDS DB subnet group name'),
    dbSecurityGroupIds: c.list('DRILL_DB_SECURITY_GROUP_IDS', SECURITY_GROUP, 'security group ids'),
  };
  const app = needsApp
    ? {
        clusterArn: c.one('ECS_CLUSTER_ARN', ARN('ecs'), 'an ECS cluster ARN'),
        taskDefinitionArn: c.one('APP_TASK_DEFINITION_ARN', ARN('ecs'), 'an ECS task definition ARN'),
        subnetIds: c.list('APP_SUBNET_IDS', SUBNET, 'subnet ids'),
        securityGroupIds: c.list('APP_SECURITY_GROUP_IDS', SECURITY_GROUP, 'security group ids'),
      }
    : null;
  return c.done({
    ...base,
    app,
    logGroupName: env.DRILL_LOG_GROUP || null,
    stateTable: env.STATE_TABLE || null,
  });
}

/** The start function's environment: only the machine it starts. */
export function readStartEnv(env: Env): { stateMachineArn: string } {
  const c = checker(env);
  return c.done({
    stateMachineArn: c.one('STATE_MACHINE_ARN', ARN('states'), 'a Step Functions state machine ARN'),
  });
}
