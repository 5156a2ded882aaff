/**
 * Escalations out to the SNS topic that on-call listens to (email, Slack through AWS Chatbot, a
 * webhook). One publish serves every subscriber (`MessageStructure: 'json'`): email gets the plain
 * text, HTTPS subscribers get the AWS Chatbot custom-notification JSON (Chatbot subscribes to the
 * topic over HTTPS and drops anything else), and every other protocol (SQS, Lambda) gets the
 * `default` key: the escalation as JSON. The `class` and `severity` message attributes let a
 * subscription filter (e.g. page only on `critical`). All texts come from `core/messages.ts`.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Escalation, EscalationClass } from '../../core/escalations.ts';
import {
  incidentId,
  type MessageContext,
  type RenderedMessage,
  type Resolution,
  renderEscalation,
  renderResolution,
} from '../../core/messages.ts';
import { redactCredentials } from '../../core/redact.ts';
import {
  type DynamoApi,
  markNotified,
  observeIncident,
  type ResolvedIncident,
  resolveIncident,
} from './incidents.ts';

export type { Resolution } from '../../core/messages.ts';

/** The only part of an SNS client used, so tests can pass a moto or a mocked client. */
export type SnsApi = Pick<SNSClient, 'send'>;

/** SNS refuses subjects of 100 characters or more, and any control character. */
export const MAX_SUBJECT_LENGTH = 99;

/** A subject SNS accepts: control characters become spaces, long ones are cut with `...`. */
export function subjectLine(text: string): string {
  const clean = Array.from(text, (c) => (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127 ? ' ' : c))
    .join('')
    .replace(/ {2,}/g, ' ')
    .trim();
  return clean.length > MAX_SUBJECT_LENGTH ? `${clean.slice(0, MAX_SUBJECT_LENGTH - 3)}...` : clean;
}

/** What the publisher adds to the message: where it speaks from and where to look. */
export type PublishContext = Omit<MessageContext, 'environment'>;

/** Publishes one rendered message to every protocol at once; returns the SNS message id. */
export async function publishRendered(
  sns: SnsApi,
  topicArn: string,
  rendered: RenderedMessage,
): Promise<string | undefined> {
  const out = await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: subjectLine(rendered.subject),
      MessageStructure: 'json',
      Message: JSON.stringify({
        default: JSON.stringify(rendered.machine),
        email: rendered.text,
        https: JSON.stringify(rendered.chatbot),
      }),
      MessageAttributes: Object.fromEntries(
        Object.entries(rendered.attributes).map(([name, value]) => [
          name,
          { DataType: 'String', StringValue: String(value) },
        ]),
      ),
    }),
  );
  return out.MessageId;
}

/**
 * Publishes an escalation. Its text was redacted by `createEscalation` and is redacted again by
 * the renderer; the subject names severity, class, environment and source.
 * @returns the SNS message id.
 */
export async function publishEscalation(
  sns: SnsApi,
  topicArn: string,
  environment: string,
  escalation: Escalation,
  context?: PublishContext,
): Promise<string | undefined> {
  return publishRendered(sns, topicArn, renderEscalation(escalation, { ...context, environment }));
}

/** Publishes that an earlier escalation's condition cleared (severity attribute `info`). */
export async function publishResolution(
  sns: SnsApi,
  topicArn: string,
  environment: string,
  resolution: Resolution,
  context: PublishContext = {},
): Promise<string | undefined> {
  return publishRendered(sns, topicArn, renderResolution(resolution, { ...context, environment }));
}

/** Where folded escalations go: the topic, and the incident table that remembers what is open. */
export interface FoldingTarget {
  readonly sns: SnsApi;
  readonly ddb: DynamoApi;
  readonly topicArn: string;
  /** DynamoDB table with partition key `pk` (the stack's state table). */
  readonly table: string;
  readonly environment: string;
}

/** What a folded publish did. */
export interface FoldedOutcome {
  /** True when this observation opened the incident (none was open before). */
  readonly opened: boolean;
  /** False when on-call was already told about this open incident: the repeat was only counted. */
  readonly published: boolean;
  readonly observations: number;
  readonly openedAt: string;
}

/**
 * Escalates once per open incident (same class and same subject key, e.g. the source instance or
 * the drill schedule): the first observation publishes, repeats are counted and folded, and a
 * publish that failed last time is retried with the count so far. Conditional writes keep "once"
 * true when two invocations overlap.
 */
export async function escalateFolded(
  target: FoldingTarget,
  subjectKey: string,
  escalation: Escalation,
  now: Date,
  context: PublishContext = {},
): Promise<FoldedOutcome> {
  const key = incidentId(escalation.class, subjectKey);
  const seen = await observeIncident(
    target.ddb,
    target.table,
    key,
    now,
    redactCredentials(escalation.message),
  );
  const outcome = { opened: seen.opened, observations: seen.observations, openedAt: seen.openedAt };
  if (seen.notifiedAt !== null) return { ...outcome, published: false };
  await publishEscalation(target.sns, target.topicArn, target.environment, escalation, {
    source: subjectKey,
    ...context,
    occurrences: { count: seen.observations, since: seen.openedAt },
  });
  await markNotified(target.ddb, target.table, key, now);
  return { ...outcome, published: true };
}

/** What closing an incident did: the incident that was open (null: none), and whether on-call was told. */
export interface FoldedResolution {
  readonly closed: ResolvedIncident | null;
  readonly published: boolean;
}

/**
 * Closes the open incident of `cls` and the subject key, and tells on-call when they had been
 * told it opened (an incident never announced closes silently). The resolution is built from the
 * closed incident, so its message can say how long the incident lasted.
 */
export async function foldResolution(
  target: FoldingTarget,
  subjectKey: string,
  cls: EscalationClass,
  resolution: (closed: ResolvedIncident) => Resolution,
  now: Date,
  context: PublishContext = {},
): Promise<FoldedResolution> {
  const closed = await resolveIncident(target.ddb, target.table, incidentId(cls, subjectKey), now);
  if (!closed || closed.notifiedAt === null) return { closed, published: false };
  await publishResolution(target.sns, target.topicArn, target.environment, resolution(closed), {
    source: subjectKey,
    ...context,
    occurrences: { count: closed.observations, since: closed.openedAt },
  });
  return { closed, published: true };
}

/**
 * Closes the open incident of this class and subject key, and tells on-call when they had been
 * told it opened. Returns false when nothing was open or nobody had been told.
 */
export async function resolveFolded(
  target: FoldingTarget,
  subjectKey: string,
  resolution: Resolution,
  now: Date,
  context: PublishContext = {},
): Promise<boolean> {
  return (await foldResolution(target, subjectKey, resolution.class, () => resolution, now, context))
    .published;
}

/**
 * Publishes an escalation from a job; a failure to publish is logged, never thrown: the job's own
 * error matters more, and its failure destination still receives it.
 */
export async function escalateOrLog(
  deps: {
    readonly sns: SnsApi;
    readonly env: {
      readonly topicArn: string;
      readonly environment: string;
      readonly sourceDbInstanceId?: string;
    };
    readonly logger: { error(message: string, extra?: Record<string, unknown>): void };
  },
  escalation: Escalation,
): Promise<void> {
  try {
    await publishEscalation(deps.sns, deps.env.topicArn, deps.env.environment, escalation, {
      source: deps.env.sourceDbInstanceId ?? null,
    });
  } catch (publishError) {
    const p = publishError as Error;
    deps.logger.error('could not publish the escalation', {
      class: escalation.class,
      error: `${p.name}: ${p.message}`,
    });
  }
}
