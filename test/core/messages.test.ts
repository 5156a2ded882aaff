import { describe, expect, it } from 'vitest';
import {
  createEscalation,
  ESCALATION_CLASSES,
  ESCALATION_RULES,
  type Escalation,
  type EscalationClass,
} from '../../functions/core/escalations.ts';
import {
  executionConsoleUrl,
  MAX_MESSAGE_SUBJECT,
  type MessageContext,
  oneLine,
  renderEscalation,
  renderResolution,
  s3ConsoleUrl,
} from '../../functions/core/messages.ts';

const PASSWORD = 'S3cret-pw';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbg.k3yS1gn4tur3';
const EXECUTION_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:recovery-drill:drill-20261126t0300z';

/** An escalation whose evidence holds a connection string and a bearer token, as a driver error would. */
const leakyEscalation = (cls: EscalationClass): Escalation => ({
  // Built by hand, not by createEscalation: the renderer must mask even what skipped it.
  class: cls,
  severity: ESCALATION_RULES[cls].severity,
  id: 'drill-20261126T0300Z',
  message: `step failed: connect to postgres://u:${PASSWORD}@h/db refused`,
  runbookStep: ESCALATION_RULES[cls].runbookStep,
  remediation: ESCALATION_RULES[cls].remediation,
  evidence: {
    status: 503,
    url: `postgres://u:${PASSWORD}@h/db`,
    request: `Authorization: Bearer ${TOKEN}`,
    failedCheck: 'smoke-ready',
  },
});

const context = (overrides: Partial<MessageContext> = {}): MessageContext => ({
  environment: 'production',
  source: 'bt-cts-prod',
  links: {
    executionArn: EXECUTION_ARN,
    logs: '/aws/lambda/recovery-drill-step',
    report: 's3://btcts-backups/reports/drill-20261126T0300Z/report.md',
  },
  ...overrides,
});

describe('escalation messages', () => {
  it.each(ESCALATION_CLASSES)(
    'renders %s with class, severity, environment and source in the subject',
    (cls) => {
      const rendered = renderEscalation(leakyEscalation(cls), context());
      const severity = ESCALATION_RULES[cls].severity;
      expect(rendered.subject).toBe(
        `[${severity.toUpperCase()}] ${cls} · production · bt-cts-prod · drill-20261126T0300Z`,
      );
      expect(rendered.subject.length).toBeLessThanOrEqual(MAX_MESSAGE_SUBJECT);
      expect(rendered.attributes).toEqual({
        class: cls,
        severity,
        environment: 'production',
        kind: 'escalation',
      });
    },
  );

  it.each(ESCALATION_CLASSES)(
    'tells what was observed, the evidence, the runbook step, a first remediation and the links for %s',
    (cls) => {
      const rule = ESCALATION_RULES[cls];
      const { text } = renderEscalation(leakyEscalation(cls), context());
      expect(text).toContain(`${rule.severity.toUpperCase()} ${cls}: ${rule.title}`);
      expect(text).toContain('What was observed:\n  step failed: connect to postgres://u:***@h/db refused');
      expect(text).toContain(`Expected: ${rule.expected}`);
      expect(text).toContain('  status: 503');
      expect(text).toContain('  failedCheck: smoke-ready');
      expect(text).toContain(`Runbook step: ${rule.runbookStep}`);
      expect(text).toContain(`First remediation: ${rule.remediation}`);
      expect(text).toContain(
        `  Execution: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION_ARN}`,
      );
      expect(text).toContain('  Logs: /aws/lambda/recovery-drill-step');
      expect(text).toContain('  Report: s3://btcts-backups/reports/drill-20261126T0300Z/report.md');
    },
  );

  it.each(ESCALATION_CLASSES)('masks the password and the bearer token of %s in every channel', (cls) => {
    const rendered = renderEscalation(leakyEscalation(cls), context());
    const everything = JSON.stringify(rendered);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(TOKEN);
    expect(rendered.text).toContain('url: postgres://u:***@h/db');
    expect(rendered.text).toContain('request: Authorization: Bearer ***');
    expect(rendered.chatbot.content.description).toContain('postgres://u:***@h/db');
    expect(rendered.machine.evidence).toMatchObject({ url: 'postgres://u:***@h/db' });
  });

  it('renders an AWS Chatbot custom notification Slack can show', () => {
    const rendered = renderEscalation(leakyEscalation('READY_NOT_OK'), context());
    const chatbot = JSON.parse(JSON.stringify(rendered.chatbot)) as Record<string, unknown>;
    expect(chatbot).toMatchObject({
      version: '1.0',
      source: 'custom',
      id: 'incident#READY_NOT_OK#bt-cts-prod',
      content: {
        textType: 'client-markdown',
        title: rendered.subject,
        nextSteps: [
          ESCALATION_RULES.READY_NOT_OK.remediation,
          `Runbook: ${ESCALATION_RULES.READY_NOT_OK.runbookStep}`,
        ],
        keywords: ['READY_NOT_OK', 'critical', 'production'],
      },
      metadata: {
        threadId: 'incident#READY_NOT_OK#bt-cts-prod',
        eventType: 'READY_NOT_OK',
        summary: rendered.subject,
        additionalContext: { class: 'READY_NOT_OK', severity: 'critical', environment: 'production' },
      },
    });
    expect(rendered.chatbot.metadata.relatedResources).toContain(
      'https://s3.console.aws.amazon.com/s3/object/btcts-backups?prefix=reports%2Fdrill-20261126T0300Z%2Freport.md',
    );
    expect(rendered.chatbot.content.description).toContain('*Observed:*');
    expect(rendered.chatbot.content.description).toContain(
      '*Report:* `s3://btcts-backups/reports/drill-20261126T0300Z/report.md`',
    );
    expect(rendered.chatbot.content.description).toContain(
      '<https://s3.console.aws.amazon.com/s3/object/btcts-backups?prefix=reports%2Fdrill-20261126T0300Z%2Freport.md|Report (console)>',
    );
    for (const value of Object.values(rendered.chatbot.metadata.additionalContext))
      expect(typeof value).toBe('string');
  });

  it('sets measured minutes against their targets beside the evidence', () => {
    const rpo = createEscalation(
      'RPO_BREACHED',
      'drill-1',
      'data-loss window 75 min is over the RPO target of 60 min',
      {
        rpoMinutes: 75,
        targetRpoMinutes: 60,
      },
    );
    const rto = createEscalation('RTO_BREACHED', 'drill-1', 'recovery took 20 min', {
      rtoMinutes: 20,
      targetRtoMinutes: 30,
    });
    expect(renderEscalation(rpo, context()).text).toContain(
      'RPO (data-loss window): measured 75 min, target 60 min (over target)',
    );
    expect(renderEscalation(rto, context()).text).toContain(
      'RTO (time to recover): measured 20 min, target 30 min\n',
    );
  });

  it('keeps a long subject under the SNS limit on one line', () => {
    const escalation = createEscalation('BACKUP_STALE', `job/${'x'.repeat(150)}`, 'lag 90 min');
    const { subject } = renderEscalation(escalation, context({ source: 'bt-cts-prod\nsecond line' }));
    expect(subject).toHaveLength(MAX_MESSAGE_SUBJECT);
    expect(subject).toMatch(/^\[CRITICAL\] BACKUP_STALE · production · bt-cts-prod second line · job\/x+…$/);
    expect(oneLine('a\tb  c')).toBe('a b c');
  });

  it('names how often a folded incident was seen', () => {
    const escalation = createEscalation('BACKUP_STALE', 'rpo-monitor/1', 'lag 90 min');
    const once = renderEscalation(
      escalation,
      context({ occurrences: { count: 1, since: '2026-11-26T03:00:00.000Z' } }),
    );
    const folded = renderEscalation(
      escalation,
      context({ occurrences: { count: 4, since: '2026-11-26T03:00:00.000Z' } }),
    );
    expect(once.text).not.toContain('Seen');
    expect(folded.text).toContain('Seen 4 times since 2026-11-26T03:00:00.000Z');
    expect(folded.subject).toMatch(/ \(x4\)$/);
    expect(folded.chatbot.metadata.additionalContext.occurrences).toBe('4');
  });

  it('leaves out what a job does not know', () => {
    const escalation = createEscalation('PRUNE_BLOCKED', 'prune/btcts/2026-11-26', 'listing incomplete');
    const rendered = renderEscalation(escalation, { environment: 'staging' });
    expect(rendered.subject).toBe('[WARNING] PRUNE_BLOCKED · staging · prune/btcts/2026-11-26');
    expect(rendered.text).not.toContain('Links:');
    expect(rendered.text).not.toContain('Source:');
    expect(rendered.chatbot.metadata.relatedResources).toEqual([]);
  });
});

describe('resolution messages', () => {
  it('closes an incident with info severity, the count and no secrets', () => {
    const rendered = renderResolution(
      {
        class: 'BACKUP_STALE',
        id: 'rpo-monitor/2',
        message: `fresh again; probe postgres://u:${PASSWORD}@h/db answered`,
        evidence: { token: TOKEN, lagMinutes: 4 },
      },
      context({ occurrences: { count: 6, since: '2026-11-26T03:00:00.000Z' } }),
    );
    expect(rendered.subject).toBe('[production] RECOVERED BACKUP_STALE: Backups are stale: RPO at risk now');
    expect(rendered.attributes).toEqual({
      class: 'BACKUP_STALE',
      severity: 'info',
      environment: 'production',
      kind: 'resolution',
    });
    expect(rendered.text).toContain('The incident was seen 6 time(s) since 2026-11-26T03:00:00.000Z.');
    expect(rendered.chatbot.metadata.threadId).toBe('incident#BACKUP_STALE#bt-cts-prod');
    expect(rendered.chatbot.content.textType).toBe('client-markdown');
    expect(JSON.stringify(rendered)).not.toContain(PASSWORD);
    expect(JSON.stringify(rendered)).not.toContain(TOKEN);
  });
});

describe('message links', () => {
  it('turns an execution ARN into its console page and refuses anything else', () => {
    expect(executionConsoleUrl(EXECUTION_ARN)).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION_ARN}`,
    );
    expect(
      executionConsoleUrl('arn:aws:states:eu-west-1:123456789012:stateMachine:recovery-drill'),
    ).toBeNull();
  });

  it('turns an s3 location into a console link and leaves a local path alone', () => {
    expect(s3ConsoleUrl('s3://b/reports/d/report.md')).toBe(
      'https://s3.console.aws.amazon.com/s3/object/b?prefix=reports%2Fd%2Freport.md',
    );
    expect(s3ConsoleUrl('/var/lib/recovery-drill/reports/d.md')).toBeNull();
  });
});
