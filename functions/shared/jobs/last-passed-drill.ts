/**
 * When a drill last passed, kept in the incident state table so that the "no passed drill in 100
 * days" alarm has a metric every 15 minutes: CloudWatch evaluates an alarm over at most a day, so
 * a quarterly `DrillPassed` data point alone cannot show a 100-day gap. The reporting function
 * records each passed drill; the RPO watch publishes `DaysSinceLastPassedDrill` from the record.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoApi } from '../aws/incidents.ts';

/** One record per environment, beside the incidents (`incident#…`) in the same table. */
export function lastPassedDrillKey(environment: string): string {
  return `drill#last-passed#${environment}`;
}

/** Records a passed drill (a later report overwrites an earlier one). */
export async function recordPassedDrill(
  ddb: DynamoApi,
  table: string,
  environment: string,
  drillId: string,
  at: Date,
): Promise<void> {
  await ddb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        pk: { S: lastPassedDrillKey(environment) },
        passedAt: { S: at.toISOString() },
        drillId: { S: drillId },
        baseline: { BOOL: false },
      },
    }),
  );
}

/** Days since the last passed drill, and whether that date is a real drill or the baseline. */
export interface DrillAge {
  readonly days: number;
  readonly since: string;
  /** True when no drill has passed yet: the clock runs from the first check after deployment. */
  readonly baseline: boolean;
}

/**
 * Days since the last passed drill. With no record yet, the first check writes a baseline (now),
 * so a new deployment has 100 days to pass its first drill instead of alarming at once; the
 * conditional write keeps a real drill recorded meanwhile.
 */
export async function daysSinceLastPassedDrill(
  ddb: DynamoApi,
  table: string,
  environment: string,
  now: Date,
): Promise<DrillAge> {
  const key = lastPassedDrillKey(environment);
  const out = await ddb.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }),
  );
  let since = out.Item?.passedAt?.S;
  let baseline = out.Item?.baseline?.BOOL ?? false;
  if (since === undefined) {
    since = now.toISOString();
    baseline = true;
    try {
      await ddb.send(
        new PutItemCommand({
          TableName: table,
          Item: { pk: { S: key }, passedAt: { S: since }, baseline: { BOOL: true } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
  const days = Math.max(0, Math.round(((now.getTime() - Date.parse(since)) / 86_400_000) * 100) / 100);
  return { days, since, baseline };
}
