/**
 * A synthesized template's IAM, made concrete for an offline simulator: CloudFormation intrinsics
 * (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::Sub`, pseudo parameters) are
 * resolved against one imagined deployment (account, region, a physical name per logical id built
 * the way each service builds its ARNs), and every role's identity policies and every resource
 * policy (key, bucket, topic) are collected.
 */

export const ACCOUNT = '123456789012';

type Json = unknown;
type Resource = { Type: string; Properties?: Record<string, Json> };
export interface Template {
  Resources: Record<string, Resource>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: Record<string, Json>[];
}

/** The concrete deployment the template is resolved against. */
export class Deployment {
  constructor(
    readonly template: Template,
    readonly region: string,
    readonly account: string = ACCOUNT,
    readonly partition = 'aws',
  ) {}

  private resource(id: string): Resource {
    const r = this.template.Resources[id];
    if (!r) throw new Error(`no resource ${id} in the template`);
    return r;
  }

  /** The physical name of a resource: its name property when set, else one made from its id. */
  nameOf(id: string): string {
    const r = this.resource(id);
    const props = r.Properties ?? {};
    const nameProp: Record<string, string> = {
      'AWS::S3::Bucket': 'BucketName',
      'AWS::SNS::Topic': 'TopicName',
      'AWS::IAM::Role': 'RoleName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::SecretsManager::Secret': 'Name',
      'AWS::RDS::DBSubnetGroup': 'DBSubnetGroupName',
      'AWS::ECS::Cluster': 'ClusterName',
      'AWS::StepFunctions::StateMachine': 'StateMachineName',
      'AWS::ECS::TaskDefinition': 'Family',
    };
    const prop = nameProp[r.Type];
    const given = prop ? props[prop] : undefined;
    if (given !== undefined) return String(this.resolve(given));
    return r.Type === 'AWS::S3::Bucket' || r.Type === 'AWS::RDS::DBSubnetGroup' ? `${id.toLowerCase()}` : id;
  }

  private arn(service: string, resource: string, region = this.region): string {
    return `arn:${this.partition}:${service}:${region}:${this.account}:${resource}`;
  }

  ref(id: string): string {
    if (id === 'AWS::Partition') return this.partition;
    if (id === 'AWS::AccountId') return this.account;
    if (id === 'AWS::Region') return this.region;
    if (id === 'AWS::URLSuffix') return 'amazonaws.com';
    if (id === 'AWS::StackName') return 'RecoveryDrillStack';
    const r = this.resource(id);
    const name = this.nameOf(id);
    switch (r.Type) {
      case 'AWS::SNS::Topic':
        return this.arn('sns', name);
      case 'AWS::SecretsManager::Secret':
        return this.arn('secretsmanager', `secret:${name}-AbCdEf`);
      case 'AWS::ECS::TaskDefinition':
        return this.arn('ecs', `task-definition/${name}:1`);
      case 'AWS::StepFunctions::StateMachine':
        return this.arn('states', `stateMachine:${name}`);
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.region}.amazonaws.com/${this.account}/${name}`;
      case 'AWS::KMS::Key':
        return `key-${id.toLowerCase()}`;
      default:
        return name;
    }
  }

  getAtt(id: string, attribute: string): string {
    const r = this.resource(id);
    const name = this.nameOf(id);
    const key = `${r.Type}.${attribute}`;
    switch (key) {
      case 'AWS::S3::Bucket.Arn':
        return `arn:${this.partition}:s3:::${name}`;
      case 'AWS::KMS::Key.Arn':
        return this.arn('kms', `key/${this.ref(id)}`);
      case 'AWS::IAM::Role.Arn':
        return `arn:${this.partition}:iam::${this.account}:role/${name}`;
      case 'AWS::Logs::LogGroup.Arn':
        return this.arn('logs', `log-group:${name}:*`);
      case 'AWS::SQS::Queue.Arn':
        return this.arn('sqs', name);
      case 'AWS::DynamoDB::Table.Arn':
        return this.arn('dynamodb', `table/${name}`);
      case 'AWS::Lambda::Function.Arn':
        return this.arn('lambda', `function:${name}`);
      case 'AWS::ECS::Cluster.Arn':
        return this.arn('ecs', `cluster/${name}`);
      case 'AWS::StepFunctions::StateMachine.Name':
      case 'AWS::SNS::Topic.TopicName':
        return name;
      case 'AWS::SNS::Topic.TopicArn':
        return this.ref(id);
      case 'AWS::EC2::VPC.CidrBlock':
        return '10.0.0.0/16';
      default:
        return `${id}.${attribute}`;
    }
  }

  /** `value` with every intrinsic replaced by its concrete value. */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, Json>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = obj[k];
      if (k === 'Ref') return this.ref(arg as string);
      if (k === 'Fn::GetAtt') {
        const [id, attr] = typeof arg === 'string' ? arg.split('.') : (arg as [string, string]);
        return this.getAtt(id as string, attr as string);
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = arg as [string, Json[]];
        return (this.resolve(parts) as Json[]).map(String).join(sep);
      }
      if (k === 'Fn::Select') {
        const [index, list] = arg as [number | string, Json];
        return (this.resolve(list) as Json[])[Number(this.resolve(index))];
      }
      if (k === 'Fn::Split') {
        const [sep, text] = arg as [string, Json];
        return String(this.resolve(text)).split(sep);
      }
      if (k === 'Fn::Sub') {
        const [text, vars] = (typeof arg === 'string' ? [arg, {}] : arg) as [string, Record<string, Json>];
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
          if (name in vars) return String(this.resolve(vars[name]));
          const [id, attr] = name.split('.');
          return attr ? this.getAtt(id as string, attr) : this.ref(id as string);
        });
      }
      if (k.startsWith('Fn::')) throw new Error(`intrinsic ${k} is not resolved by this harness`);
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(obj[k])]));
  }

  /** Logical ids of resources of `type`. */
  idsOf(type: string): string[] {
    return Object.entries(this.template.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => id);
  }

  /** Every identity policy of a role: inline policies and the `AWS::IAM::Policy` resources attached to it. */
  identityPolicies(roleId: string): { name: string; policy: PolicyDocument }[] {
    const out: { name: string; policy: PolicyDocument }[] = [];
    const role = this.resource(roleId);
    if (role.Properties?.ManagedPolicyArns)
      throw new Error(`${roleId} has managed policies: the harness does not load AWS managed policies`);
    for (const p of (role.Properties?.Policies ?? []) as { PolicyName: string; PolicyDocument: Json }[])
      out.push({ name: p.PolicyName, policy: this.resolve(p.PolicyDocument) as PolicyDocument });
    for (const id of this.idsOf('AWS::IAM::Policy')) {
      const props = this.resource(id).Properties ?? {};
      const roles = (props.Roles ?? []) as { Ref: string }[];
      if (roles.some((r) => r.Ref === roleId))
        out.push({ name: id, policy: this.resolve(props.PolicyDocument) as PolicyDocument });
    }
    return out;
  }

  /** The resource policy that governs `arn` (key policy, bucket policy, topic policy), if the stack has one. */
  resourcePolicyFor(arn: string): PolicyDocument | undefined {
    for (const id of this.idsOf('AWS::KMS::Key')) {
      if (this.getAtt(id, 'Arn') === arn)
        return this.resolve(this.resource(id).Properties?.KeyPolicy) as PolicyDocument;
    }
    for (const id of this.idsOf('AWS::S3::BucketPolicy')) {
      const props = this.resource(id).Properties ?? {};
      const bucket = String(this.resolve(props.Bucket));
      if (
        arn === `arn:${this.partition}:s3:::${bucket}` ||
        arn.startsWith(`arn:${this.partition}:s3:::${bucket}/`)
      )
        return this.resolve(props.PolicyDocument) as PolicyDocument;
    }
    for (const id of this.idsOf('AWS::SNS::TopicPolicy')) {
      const props = this.resource(id).Properties ?? {};
      const topics = this.resolve(props.Topics) as string[];
      if (topics.includes(arn)) return this.resolve(props.PolicyDocument) as PolicyDocument;
    }
    return undefined;
  }
}
