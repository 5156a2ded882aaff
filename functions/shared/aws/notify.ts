/**
 * Escalations out to the SNS topic that on-call listens to (email, Slack through AWS Chatbot, a
 * webhook). One publish serves every subscriber: email gets plain text, HTTPS subscribers (Chatbot
 * and webhooks) get Chatbot's custom-notification JSON, machines (SQS, Lambda) get the escalation
 * as JSON. The `class` and `severity` message attributes let a subscription filter (e.g. page only
 * on `critical`).
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ESCALATION_RULES, type Escalation, type EscalationClass } from '../../core/escalations.ts';
import { redactCredentials } from '../../core/redact.ts';

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

/** "The problem cleared" for an escalation sent earlier: closes the incident for on-call. */
export interface Resolution {
  readonly class: EscalationClass;
  readonly id: string;
  readonly message: string;
  readonly evidence: Readonly<Record<string, string | number | boolean | null>>;
}

function evidenceLines(evidence: Readonly<Record<string, unknown>>): string[] {
  const entries = Object.entries(evidence);
  return entries.length === 0 ? [] : ['', 'Evidence:', ...entries.map(([k, v]) => `  ${k}: ${String(v)}`)];
}

function chatbotMessage(title: string, description: string, keywords: string[]): string {
  return JSON.stringify({ version: '1.0', source: 'custom', content: { title, description, keywords } });
}

async function publish(
  sns: SnsApi,
  topicArn: string,
  subject: string,
  messages: { default: string; email: string; https: string },
  attributes: Record<string, string>,
): Promise<string | undefined> {
  const out = await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: subjectLine(subject),
      MessageStructure: 'json',
      Message: JSON.stringify(messages),
      MessageAttributes: Object.fromEntries(
        Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
      ),
    }),
  );
  return out.MessageId;
}

/**
 * Publishes an escalation. Its text was redacted by `createEscalation`; the subject names the
 * environment, severity and class so a phone's lock screen says enough.
 * @returns the SNS message id.
 */
export async function publishEscalation(
  sns: SnsApi,
  topicArn: string,
  environment: string,
  escalation: Escalation,
): Promise<string | undefined> {
  const title = ESCALATION_RULES[escalation.class].title;
  const subject = `[${environment}] ${escalation.severity.toUpperCase()} ${escalation.class}: ${title}`;
  const email = [
    `${escalation.class} (${escalation.severity}) in ${environment}: ${title}`,
    '',
    `What happened: ${escalation.message}`,
    `Job: ${escalation.id}`,
    `Runbook: ${escalation.runbookStep}`,
    `First step: ${escalation.remediation}`,
    ...evidenceLines(escalation.evidence),
  ].join('\n');
  return publish(
    sns,
    topicArn,
    subject,
    {
      default: JSON.stringify({ kind: 'escalation', environment, title, ...escalation }),
      email,
      https: chatbotMessage(
        `${escalation.severity.toUpperCase()} ${escalation.class} (${environment}): ${title}`,
        `${escalation.message}\n*First step:* ${escalation.remediation}\n*Runbook:* ${escalation.runbookStep}`,
        [escalation.class, escalation.severity, environment],
      ),
    },
    { class: escalation.class, severity: escalation.severity, environment, kind: 'escalation' },
  );
}

/** Publishes that an earlier escalation's condition cleared (severity attribute `info`). */
export async function publishResolution(
  sns: SnsApi,
  topicArn: string,
  environment: string,
  resolution: Resolution,
): Promise<string | undefined> {
  const message = redactCredentials(resolution.message);
  const evidence = Object.fromEntries(
    Object.entries(resolution.evidence).map(([k, v]) => [
      k,
      typeof v === 'string' ? redactCredentials(v) : v,
    ]),
  );
  const title = `RECOVERED ${resolution.class}`;
  return publish(
    sns,
    topicArn,
    `[${environment}] ${title}: ${ESCALATION_RULES[resolution.class].title}`,
    {
      default: JSON.stringify({ kind: 'resolution', environment, ...resolution, message, evidence }),
      email: [
        `${title} in ${environment}`,
        '',
        message,
        `Job: ${resolution.id}`,
        ...evidenceLines(evidence),
      ].join('\n'),
      https: chatbotMessage(`${title} (${environment})`, message, [
        resolution.class,
        'recovered',
        environment,
      ]),
    },
    { class: resolution.class, severity: 'info', environment, kind: 'resolution' },
  );
}
