/**
 * The one renderer behind every escalation channel (SNS email, Slack through AWS Chatbot, the
 * local notifier), so an engineer reading any of them at 3 a.m. sees the same words: what broke,
 * where, the evidence, the runbook step, a first remediation and where to look next. Pure: the
 * publishers decide how each rendering travels.
 */
import { ESCALATION_RULES, type Escalation, type EscalationClass, type Severity } from './escalations.ts';
import { redactCredentials } from './redact.ts';

type EvidenceValue = string | number | boolean | null;

/** SNS refuses a subject of 100 characters or more. */
export const MAX_MESSAGE_SUBJECT = 99;

/** Where a message points to; every field is optional because a job knows less than a drill. */
export interface MessageLinks {
  /** Step Functions execution ARN of the drill: becomes a console link. */
  readonly executionArn?: string | null;
  /** Logs to read first (a CloudWatch console URL, a log group name or a local file). */
  readonly logs?: string | null;
  /** The report: `s3://bucket/key` (a console link is added) or a local path. */
  readonly report?: string | null;
}

/** What the renderer needs besides the escalation itself. */
export interface MessageContext {
  readonly environment: string;
  /** What the incident is about, e.g. the source DB instance or the drill schedule. */
  readonly source?: string | null;
  readonly links?: MessageLinks;
  /** Folding: how often this open incident was seen and since when (count 1 renders nothing). */
  readonly occurrences?: { readonly count: number; readonly since: string } | null;
}

/** "The problem cleared" for an escalation sent earlier: closes the incident for on-call. */
export interface Resolution {
  readonly class: EscalationClass;
  readonly id: string;
  readonly message: string;
  readonly evidence: Readonly<Record<string, EvidenceValue>>;
}

/**
 * AWS Chatbot's custom-notification shape (what it turns into a real Slack message); anything
 * else sent to Chatbot is dropped.
 */
export interface ChatbotNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly id: string;
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps: string[];
    readonly keywords: string[];
  };
  readonly metadata: {
    readonly threadId: string;
    readonly summary: string;
    readonly eventType: string;
    readonly relatedResources: string[];
    readonly additionalContext: Record<string, string>;
  };
}

/** SNS message attributes: subscriptions filter on `class` and `severity` (e.g. only critical to a pager). */
export interface MessageAttributes {
  readonly class: EscalationClass;
  readonly severity: Severity | 'info';
  readonly environment: string;
  readonly kind: 'escalation' | 'resolution';
}

/** One message, rendered for every channel. */
export interface RenderedMessage {
  /** At most MAX_MESSAGE_SUBJECT characters, one line. */
  readonly subject: string;
  /** Plain text for email and the terminal. */
  readonly text: string;
  readonly chatbot: ChatbotNotification;
  /** For machines (SQS, Lambda subscribers, the local notifications file). */
  readonly machine: Record<string, unknown>;
  readonly attributes: MessageAttributes;
}

/** One line of at most `max` characters: control characters become spaces, a long one ends in `…`. */
export function oneLine(text: string, max = MAX_MESSAGE_SUBJECT): string {
  const clean = Array.from(text, (c) => (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127 ? ' ' : c))
    .join('')
    .replace(/ {2,}/g, ' ')
    .trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * The console page of a Step Functions execution, so the link opens the graph with the failed
 * state highlighted; null for anything that is not an execution ARN.
 */
export function executionConsoleUrl(executionArn: string): string | null {
  const match = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:execution:[^:\s]+:[^:\s]+$/.exec(executionArn);
  if (!match) return null;
  const region = match[1];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** An `s3://bucket/key` location as a console link (people click links, not URIs); null otherwise. */
export function s3ConsoleUrl(location: string): string | null {
  const match = /^s3:\/\/([^/\s]+)\/(.+)$/.exec(location);
  if (!match) return null;
  const [, bucket, key] = match;
  return `https://s3.console.aws.amazon.com/s3/object/${bucket}?prefix=${encodeURIComponent(key ?? '')}`;
}

function linkLines(links: MessageLinks | undefined): { label: string; url: string }[] {
  const out: { label: string; url: string }[] = [];
  if (links?.executionArn) {
    out.push({
      label: 'Execution',
      url: executionConsoleUrl(links.executionArn) ?? links.executionArn,
    });
  }
  if (links?.logs) out.push({ label: 'Logs', url: links.logs });
  if (links?.report) {
    out.push({ label: 'Report', url: links.report });
    const consoleUrl = s3ConsoleUrl(links.report);
    if (consoleUrl) out.push({ label: 'Report (console)', url: consoleUrl });
  }
  return out.map((l) => ({ label: l.label, url: redactCredentials(l.url) }));
}

const MEASURES: readonly { measured: string; target: string; label: string }[] = [
  { measured: 'rpoMinutes', target: 'targetRpoMinutes', label: 'RPO (data-loss window)' },
  { measured: 'rtoMinutes', target: 'targetRtoMinutes', label: 'RTO (time to recover)' },
  { measured: 'lagMinutes', target: 'targetMinutes', label: 'restorable-time lag' },
];

/**
 * "measured X min against a target of Y min" lines, the first thing on-call compares; for an RPO,
 * the moments it is measured between and the heartbeat's evidence, as the report shows them.
 */
function measuredLines(evidence: Readonly<Record<string, EvidenceValue>>): string[] {
  const lines = MEASURES.flatMap(({ measured, target, label }) => {
    const m = evidence[measured];
    const t = evidence[target];
    return typeof m === 'number' && typeof t === 'number'
      ? [`${label}: measured ${m} min, target ${t} min${m > t ? ' (over target)' : ''}`]
      : [];
  });
  const { targetTime, restorePointAt, restorePointSource, heartbeat } = evidence;
  if (typeof targetTime === 'string' && typeof restorePointAt === 'string')
    lines.push(
      `measured from T ${targetTime} to P ${restorePointAt}${typeof restorePointSource === 'string' ? ` (P from ${restorePointSource})` : ''}`,
    );
  if (typeof heartbeat === 'string' && typeof evidence.heartbeatExpectedBy === 'string')
    lines.push(
      `heartbeat in the restored copy: ${heartbeat}, newest beat ${evidence.newestHeartbeatAt ?? 'none'}, expected at or after ${evidence.heartbeatExpectedBy}`,
    );
  return lines;
}

/** Evidence keys whose whole value is a credential: masked whatever the value looks like. */
const SECRET_KEY = /pass(word|wd)?|secret|token|api[_-]?key|authorization|credential/i;

/** One evidence value safe to show a person: credentials in it masked, a secret-named key's value hidden. */
function safeValue(key: string, value: EvidenceValue): EvidenceValue {
  if (SECRET_KEY.test(key) && value !== null && value !== '') return '***';
  return typeof value === 'string' ? redactCredentials(value) : value;
}

function safeEvidence(evidence: Readonly<Record<string, EvidenceValue>>): Record<string, EvidenceValue> {
  return Object.fromEntries(
    Object.entries(evidence).map(([k, v]) => [redactCredentials(k), safeValue(k, v)]),
  );
}

function redactEvidence(evidence: Readonly<Record<string, EvidenceValue>>): [string, string][] {
  return Object.entries(safeEvidence(evidence)).map(([k, v]) => [k, String(v)]);
}

function foldedLine(context: MessageContext): string | null {
  const o = context.occurrences;
  return o && o.count > 1
    ? `Seen ${o.count} times since ${o.since} (repeats folded into this message).`
    : null;
}

/** `[CRITICAL] READY_NOT_OK · production · bt-cts-prod · drill-…`: the lock screen says enough. */
function escalationSubject(escalation: Escalation, context: MessageContext): string {
  const parts = [
    `[${escalation.severity.toUpperCase()}] ${escalation.class}`,
    context.environment,
    ...(context.source ? [context.source] : []),
    escalation.id,
  ];
  const count =
    context.occurrences && context.occurrences.count > 1 ? ` (x${context.occurrences.count})` : '';
  return oneLine(redactCredentials(parts.join(' · ') + count));
}

function chatbot(args: {
  id: string;
  title: string;
  description: string;
  nextSteps: string[];
  keywords: string[];
  eventType: string;
  summary: string;
  related: string[];
  context: Record<string, string>;
}): ChatbotNotification {
  return {
    version: '1.0',
    source: 'custom',
    id: args.id,
    content: {
      textType: 'client-markdown',
      title: args.title,
      description: args.description,
      nextSteps: args.nextSteps,
      keywords: args.keywords,
    },
    metadata: {
      threadId: args.id,
      summary: args.summary,
      eventType: args.eventType,
      relatedResources: args.related,
      additionalContext: args.context,
    },
  };
}

/** The incident an escalation belongs to: same class and same subject, one thread in Slack. */
export function incidentId(cls: EscalationClass, subjectKey: string): string {
  return `incident#${cls}#${subjectKey}`;
}

/** Renders an escalation for every channel; every text passes `redactCredentials` again. */
export function renderEscalation(escalation: Escalation, context: MessageContext): RenderedMessage {
  const rule = ESCALATION_RULES[escalation.class];
  const message = redactCredentials(escalation.message);
  const remediation = redactCredentials(escalation.remediation);
  const evidence = redactEvidence(escalation.evidence);
  const measured = measuredLines(escalation.evidence);
  const links = linkLines(context.links);
  const folded = foldedLine(context);
  const subject = escalationSubject(escalation, context);
  const where = [
    `Environment: ${context.environment}`,
    ...(context.source ? [`Source: ${context.source}`] : []),
    `Drill or job: ${escalation.id}`,
  ];
  const text = [
    `${escalation.severity.toUpperCase()} ${escalation.class}: ${rule.title}`,
    ...where,
    ...(folded ? [folded] : []),
    '',
    'What was observed:',
    `  ${message}`,
    ...measured.map((l) => `  ${l}`),
    `  Expected: ${rule.expected}`,
    ...(evidence.length > 0 ? ['', 'Evidence:', ...evidence.map(([k, v]) => `  ${k}: ${v}`)] : []),
    '',
    `Runbook step: ${escalation.runbookStep}`,
    `First remediation: ${remediation}`,
    ...(links.length > 0 ? ['', 'Links:', ...links.map((l) => `  ${l.label}: ${l.url}`)] : []),
  ].join('\n');
  const description = [
    `*${rule.title}* (${escalation.severity}) in *${context.environment}*${context.source ? ` for \`${context.source}\`` : ''}`,
    ...(folded ? [`_${folded}_`] : []),
    `*Observed:* ${message}`,
    ...measured.map((l) => `• ${l}`),
    ...(evidence.length > 0
      ? [`*Evidence:*\n${evidence.map(([k, v]) => `• \`${k}\`: ${v}`).join('\n')}`]
      : []),
    `*Runbook:* ${escalation.runbookStep}`,
    // Slack links only http(s); an s3:// location or a local path is shown as code.
    ...links.map((l) =>
      /^https?:\/\//.test(l.url) ? `<${l.url}|${l.label}>` : `*${l.label}:* \`${l.url}\``,
    ),
  ].join('\n');
  const threadId = incidentId(escalation.class, context.source ?? escalation.id);
  return {
    subject,
    text,
    chatbot: chatbot({
      id: threadId,
      title: subject,
      description,
      nextSteps: [remediation, `Runbook: ${escalation.runbookStep}`],
      keywords: [escalation.class, escalation.severity, context.environment],
      eventType: escalation.class,
      summary: subject,
      related: links.map((l) => l.url),
      context: {
        class: escalation.class,
        severity: escalation.severity,
        environment: context.environment,
        id: escalation.id,
        ...(context.occurrences ? { occurrences: String(context.occurrences.count) } : {}),
      },
    }),
    machine: {
      kind: 'escalation',
      environment: context.environment,
      source: context.source ?? null,
      title: rule.title,
      ...escalation,
      message,
      remediation,
      evidence: safeEvidence(escalation.evidence),
      occurrences: context.occurrences ?? null,
      links: Object.fromEntries(links.map((l) => [l.label, l.url])),
    },
    attributes: {
      class: escalation.class,
      severity: escalation.severity,
      environment: context.environment,
      kind: 'escalation',
    },
  };
}

/**
 * Renders the "resolved" message of an incident. The subject keeps the form the BACKUP_STALE
 * monitor already publishes (`[env] RECOVERED CLASS: title`) so existing mail rules keep matching;
 * attribute severity is `info`, so a pager filter on `critical` does not wake anyone for it.
 */
export function renderResolution(resolution: Resolution, context: MessageContext): RenderedMessage {
  const rule = ESCALATION_RULES[resolution.class];
  const message = redactCredentials(resolution.message);
  const evidence = redactEvidence(resolution.evidence);
  const links = linkLines(context.links);
  const subject = oneLine(
    redactCredentials(`[${context.environment}] RECOVERED ${resolution.class}: ${rule.title}`),
  );
  const o = context.occurrences;
  const seen = o ? `The incident was seen ${o.count} time(s) since ${o.since}.` : null;
  const text = [
    `RESOLVED ${resolution.class} in ${context.environment}: ${rule.title}`,
    ...(context.source ? [`Source: ${context.source}`] : []),
    `Drill or job: ${resolution.id}`,
    '',
    message,
    ...(seen ? [seen] : []),
    ...(evidence.length > 0 ? ['', 'Evidence:', ...evidence.map(([k, v]) => `  ${k}: ${v}`)] : []),
    ...(links.length > 0 ? ['', 'Links:', ...links.map((l) => `  ${l.label}: ${l.url}`)] : []),
  ].join('\n');
  const threadId = incidentId(resolution.class, context.source ?? resolution.id);
  return {
    subject,
    text,
    chatbot: chatbot({
      id: threadId,
      title: subject,
      description: [`:white_check_mark: *Resolved:* ${message}`, ...(seen ? [seen] : [])].join('\n'),
      nextSteps: ['Nothing to do: record the incident in the on-call log.'],
      keywords: [resolution.class, 'recovered', context.environment],
      eventType: `${resolution.class}_RESOLVED`,
      summary: subject,
      related: links.map((l) => l.url),
      context: {
        class: resolution.class,
        severity: 'info',
        environment: context.environment,
        id: resolution.id,
      },
    }),
    machine: {
      kind: 'resolution',
      environment: context.environment,
      source: context.source ?? null,
      ...resolution,
      message,
      evidence: safeEvidence(resolution.evidence),
      occurrences: context.occurrences ?? null,
    },
    attributes: {
      class: resolution.class,
      severity: 'info',
      environment: context.environment,
      kind: 'resolution',
    },
  };
}
