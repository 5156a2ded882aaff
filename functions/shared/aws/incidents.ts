/**
 * Incident state in DynamoDB (partition key `pk`), so that a condition checked every 15 minutes
 * pages on-call once when it starts and once more when it clears, not 96 times a day. Conditional
 * writes make "once" hold even when two invocations overlap.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

/** The only part of a DynamoDB client used, so tests can pass a moto or a mocked client. */
export type DynamoApi = Pick<DynamoDBClient, 'send'>;

/** What the state table says after recording that the condition holds. */
export interface IncidentObservation {
  /** True when this observation started the incident (no open incident before). */
  readonly opened: boolean;
  /** When the open incident started. */
  readonly openedAt: string;
  /** When on-call was told, or null: an escalation is due (a publish that failed last time is retried). */
  readonly notifiedAt: string | null;
  /** How many checks have seen the condition during this incident. */
  readonly observations: number;
}

/** The incident that was open when the condition cleared: what the recovery message reports. */
export interface ResolvedIncident {
  readonly openedAt: string;
  readonly notifiedAt: string | null;
  readonly observations: number;
}

const isConditionFailed = (error: unknown) =>
  error instanceof ConditionalCheckFailedException ||
  (error as Error).name === 'ConditionalCheckFailedException';

function str(item: Record<string, { S?: string; N?: string }> | undefined, name: string): string | null {
  return item?.[name]?.S ?? null;
}

function num(item: Record<string, { S?: string; N?: string }> | undefined, name: string): number {
  return Number(item?.[name]?.N ?? 0);
}

/** Records that the incident's condition holds now; opens the incident when none is open. */
export async function observeIncident(
  ddb: DynamoApi,
  table: string,
  key: string,
  now: Date,
  summary: string,
): Promise<IncidentObservation> {
  const at = now.toISOString();
  try {
    await ddb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: key },
          status: { S: 'open' },
          openedAt: { S: at },
          lastSeenAt: { S: at },
          observations: { N: '1' },
          summary: { S: summary },
        },
        ConditionExpression: 'attribute_not_exists(pk) OR #status = :resolved',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':resolved': { S: 'resolved' } },
      }),
    );
    return { opened: true, openedAt: at, notifiedAt: null, observations: 1 };
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
  }
  const out = await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: key } },
      UpdateExpression: 'SET lastSeenAt = :at, summary = :summary ADD observations :one',
      ConditionExpression: '#status = :open',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':at': { S: at },
        ':summary': { S: summary },
        ':one': { N: '1' },
        ':open': { S: 'open' },
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return {
    opened: false,
    openedAt: str(out.Attributes, 'openedAt') ?? at,
    notifiedAt: str(out.Attributes, 'notifiedAt'),
    observations: num(out.Attributes, 'observations'),
  };
}

/** Records that on-call was told about the open incident (after the publish succeeded). */
export async function markNotified(ddb: DynamoApi, table: string, key: string, now: Date): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: key } },
      UpdateExpression: 'SET notifiedAt = :at',
      ConditionExpression: '#status = :open',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':at': { S: now.toISOString() }, ':open': { S: 'open' } },
    }),
  );
}

/**
 * Closes the open incident, if any.
 * @returns the incident that was open, or null when none was (nothing to announce).
 */
export async function resolveIncident(
  ddb: DynamoApi,
  table: string,
  key: string,
  now: Date,
): Promise<ResolvedIncident | null> {
  try {
    const out = await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: key } },
        UpdateExpression: 'SET #status = :resolved, resolvedAt = :at',
        ConditionExpression: '#status = :open',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':resolved': { S: 'resolved' },
          ':open': { S: 'open' },
          ':at': { S: now.toISOString() },
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return {
      openedAt: str(out.Attributes, 'openedAt') ?? '',
      notifiedAt: str(out.Attributes, 'notifiedAt'),
      observations: num(out.Attributes, 'observations'),
    };
  } catch (error) {
    if (isConditionFailed(error)) return null;
    throw error;
  }
}
