/**
 * Drill notifications to the escalation topic: each escalation as the backup functions publish
 * theirs (attributes `class` and `severity`, so a subscription can page on `critical` only), then
 * one summary that on-call and the auditor read even when the drill passed.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { type Escalation, SEVERITIES } from '../../core/escalations.ts';
import { redactCredentials } from '../../core/redact.ts';
import type { DrillReport } from '../../core/report.ts';
import { publishEscalation, type SnsApi, subjectLine } from '../../shared/aws/notify.ts';
import type { Notifier } from '../ports.ts';

/** `class` attribute of the summary message (not an escalation class: filter policies tell them apart). */
export const SUMMARY_CLASS = 'DRILL_SUMMARY';

export function summaryText(report: DrillReport, reportLocation: string | null): string {
  const lines = [
    `Recovery drill ${report.drillId} ${report.passed ? 'passed' : 'FAILED'}${report.environment ? ` in ${report.environment}` : ''}.`,
    `Target time: ${report.targetTime}; restore point: ${report.restorePointAt ?? 'unknown'}.`,
    `RPO: ${report.rpoMinutes ?? '–'} min (target ${report.targets.rpoMinutes}); RTO: ${report.rtoMinutes ?? '–'} min (target ${report.targets.rtoMinutes}).`,
    report.escalations.length > 0
      ? `Escalations: ${report.escalations.map((e) => `${e.class} (${e.severity})`).join(', ')}.`
      : 'No escalations.',
    ...report.warnings.map((w) => `Warning: ${w}`),
  ];
  if (reportLocation) lines.push(`Report: ${reportLocation}`);
  return redactCredentials(lines.join('\n'));
}

export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SnsApi,
    private readonly topicArn: string,
    private readonly environment: string,
    /** Where the Markdown report of a drill is (added to the summary), when known. */
    private readonly reportLocation: (drillId: string) => string | null = () => null,
  ) {}

  async publish(report: DrillReport, escalations: readonly Escalation[]): Promise<number> {
    let count = 0;
    for (const escalation of escalations) {
      await publishEscalation(this.sns, this.topicArn, this.environment, escalation);
      count++;
    }
    const verdict = report.passed ? 'passed' : 'FAILED';
    const text = summaryText(report, this.reportLocation(report.drillId));
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subjectLine(`[${this.environment}] Recovery drill ${report.drillId} ${verdict}`),
        MessageStructure: 'json',
        Message: JSON.stringify({
          default: JSON.stringify({
            kind: 'summary',
            environment: this.environment,
            ...summaryFields(report),
          }),
          email: text,
          // AWS Chatbot drops anything but its custom-notification shape.
          https: JSON.stringify({
            version: '1.0',
            source: 'custom',
            content: { title: `Recovery drill ${verdict} (${this.environment})`, description: text },
          }),
        }),
        MessageAttributes: {
          class: { DataType: 'String', StringValue: SUMMARY_CLASS },
          severity: { DataType: 'String', StringValue: summarySeverity(report) },
          kind: { DataType: 'String', StringValue: 'summary' },
          environment: { DataType: 'String', StringValue: this.environment },
        },
      }),
    );
    return count + 1;
  }
}

/** `info` for a drill that passed, else its most severe escalation's severity. */
function summarySeverity(report: DrillReport): string {
  if (report.passed) return 'info';
  return SEVERITIES.find((s) => report.escalations.some((e) => e.severity === s)) ?? 'high';
}

function summaryFields(report: DrillReport) {
  return {
    drillId: report.drillId,
    passed: report.passed,
    targetTime: report.targetTime,
    restorePointAt: report.restorePointAt,
    rpoMinutes: report.rpoMinutes,
    rtoMinutes: report.rtoMinutes,
    targets: report.targets,
    escalations: report.escalations.map((e) => e.class),
    warnings: report.warnings,
  };
}
