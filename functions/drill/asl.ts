/**
 * Turns the state machine definition that the CDK stack synthesizes into plain Amazon States
 * Language JSON, so that the very definition we deploy is the one the local engine runs and the
 * tests validate. A synthesized `DefinitionString` is an `Fn::Join` of strings and tokens (`Ref`,
 * `Fn::GetAtt`); each token is replaced by a plausible value for its resource type.
 */

export const LOCAL_ACCOUNT = '123456789012';

type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

export class DefinitionNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefinitionNotFoundError';
  }
}

function arnFor(type: string, logicalId: string, region: string): string {
  const [, service = 'unknown', kind = 'resource'] = type.split('::');
  const s = service.toLowerCase();
  switch (type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${logicalId}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${region}:${LOCAL_ACCOUNT}:${logicalId}`;
    case 'AWS::ECS::TaskDefinition':
      return `arn:aws:ecs:${region}:${LOCAL_ACCOUNT}:task-definition/${logicalId}:1`;
    case 'AWS::ECS::Cluster':
      return `arn:aws:ecs:${region}:${LOCAL_ACCOUNT}:cluster/${logicalId}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${logicalId.toLowerCase()}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${region}:${LOCAL_ACCOUNT}:secret:${logicalId}`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${logicalId}`;
    default:
      return `arn:aws:${s}:${region}:${LOCAL_ACCOUNT}:${kind.toLowerCase()}/${logicalId}`;
  }
}

/** What `Ref` returns for a resource type (a name or id for most, an ARN for some). */
function refFor(type: string, logicalId: string, region: string): string {
  switch (type) {
    case 'AWS::Lambda::Function':
    case 'AWS::S3::Bucket':
    case 'AWS::DynamoDB::Table':
      return logicalId.toLowerCase();
    case 'AWS::EC2::Subnet':
      return `subnet-${logicalId.toLowerCase().slice(0, 17)}`;
    case 'AWS::EC2::SecurityGroup':
      return `sg-${logicalId.toLowerCase().slice(0, 17)}`;
    default:
      return arnFor(type, logicalId, region);
  }
}

function resolveToken(token: unknown, template: Template, region: string): string {
  if (typeof token === 'string') return token;
  const resources = template.Resources ?? {};
  if (token && typeof token === 'object') {
    const ref = (token as { Ref?: unknown }).Ref;
    if (typeof ref === 'string') {
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return region;
      if (ref === 'AWS::AccountId') return LOCAL_ACCOUNT;
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      if (ref === 'AWS::StackName') return 'RecoveryDrillStack';
      const resource = resources[ref];
      if (!resource)
        throw new DefinitionNotFoundError(`unresolvable Ref ${ref} in the state machine definition`);
      return refFor(resource.Type, ref, region);
    }
    const getAtt = (token as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
      const [logicalId, attribute] = getAtt as [string, string];
      const resource = resources[logicalId];
      if (!resource)
        throw new DefinitionNotFoundError(
          `unresolvable Fn::GetAtt ${logicalId} in the state machine definition`,
        );
      if (attribute === 'GroupId') return refFor('AWS::EC2::SecurityGroup', logicalId, region);
      if (attribute === 'Name' || attribute === 'TopicName') return logicalId;
      return arnFor(resource.Type, logicalId, region);
    }
    const join = (token as { 'Fn::Join'?: unknown })['Fn::Join'];
    if (Array.isArray(join)) {
      const [separator, parts] = join as [string, unknown[]];
      return parts.map((part) => resolveToken(part, template, region)).join(separator);
    }
  }
  throw new DefinitionNotFoundError(
    `unsupported token in the state machine definition: ${JSON.stringify(token)}`,
  );
}

/** Logical ids of the state machines in a template. */
export function stateMachineIds(template: Template): string[] {
  return Object.entries(template.Resources ?? {})
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
    .map(([id]) => id);
}

/**
 * The plain ASL of one state machine in a synthesized template.
 * @param match picks the state machine whose logical id contains this text (default: the only one).
 */
export function extractDefinition(
  template: Template,
  options: { match?: string; region?: string } = {},
): Record<string, unknown> {
  const region = options.region ?? 'eu-west-1';
  const ids = stateMachineIds(template).filter((id) => !options.match || id.includes(options.match));
  if (ids.length !== 1) {
    throw new DefinitionNotFoundError(
      `expected exactly one state machine${options.match ? ` matching "${options.match}"` : ''}, found ${ids.length}: ${ids.join(', ') || 'none'}`,
    );
  }
  const properties = template.Resources?.[ids[0] as string]?.Properties ?? {};
  const definition = properties.DefinitionString;
  const text = resolveToken(definition, template, region);
  return JSON.parse(text) as Record<string, unknown>;
}
