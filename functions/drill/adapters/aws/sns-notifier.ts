/**
 * Drill notifications to the escalation topic: each escalation as the backup functions publish
 * theirs (attributes `class` and `severity`, so a subscription can page on `critical` only), then
 * one summary that on-call and the auditor read even when the drill passed.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import {
  type Escalation,
  type EscalationClass,
  SEVERITIES,
  STEP_ESCALATION,
} from '../../../core/escalations.ts';
import type { MessageLinks } from '../../../core/messages.ts';
import { redactCredentials } from '../../../core/redact.ts';
import type { DrillReport } from '../../../core/report.ts';
import { describeHeartbeat, describeTargetTime, rpoUnproven } from '../../../core/report-markdown.ts';
import type { DynamoApi } from '../../../shared/aws/incidents.ts';
import {
  escalateFolded,
  type PublishContext,
  publishEscalation,
  resolveFolded,
  type SnsApi,
  subjectLine,
} from '../../../shared/aws/notify.ts';
import type { Notifier } from '../../ports/drill-deps.ts';

/** `class` attribute of the summary message (not an escalation class: filter policies tell them apart). */
export const SUMMARY_CLASS = 'DRILL_SUMMARY';

export function summaryText(report: DrillReport, reportLocation: string | null): string {
  const lines = [
    `Recovery drill ${report.drillId} ${report.passed ? 'passed' : 'FAILED'}${report.environment ? ` in ${report.environment}` : ''}.`,
    `Requested target: ${report.requestedTarget}. T: ${describeTargetTime(report)}.`,
    `P (restore point): ${report.restorePointAt ?? 'unknown'}, from ${report.restorePointBasis}.`,
    `Heartbeat: ${describeHeartbeat(report.heartbeat)}.`,
    `RPO (T − P): ${report.rpoMinutes ?? '–'} min (target ${report.targets.rpoMinutes})${rpoUnproven(report) ? ', not proven by the heartbeat' : ''}; RTO: ${report.rtoMinutes ?? '–'} min (target ${report.targets.rtoMinutes}).`,
    report.escalations.length > 0
      ? `Escalations: ${report.escalations.map((e) => `${e.class} (${e.severity})`).join(', ')}.`
      : 'No escalations.',
    ...report.warnings.map((w) => `Warning: ${w}`),
  ];
  if (reportLocation) lines.push(`Report: ${reportLocation}`);
  return redactCredentials(lines.join('\n'));
}

/**
 * The classes a passing drill closes when they were open. Not CLEANUP_FAILED: a later drill that
 * passed says nothing about the resources an earlier one left behind.
 */
const DRILL_CLASSES: readonly EscalationClass[] = [
  ...new Set([...Object.values(STEP_ESCALATION), 'RPO_BREACHED' as const, 'RTO_BREACHED' as const]),
].filter((cls) => cls !== 'CLEANUP_FAILED');

/** What a drill's messages point to and how repeats fold; all optional, so a bare notifier still works. */
export interface SnsNotifierOptions {
  /** What the drill is about in every subject (e.g. the source DB instance identifier). */
  readonly source?: string | null;
  /** The Step Functions execution of a drill, for the console link. */
  readonly executionArn?: (drillId: string) => string | null;
  /** Where the drill's logs are (e.g. a CloudWatch console URL of the log group). */
  readonly logs?: string | null;
  /**
   * Folds repeats: the same class for the same subject key (e.g. the drill schedule) is one
   * incident; a passing drill closes every open one with a "resolved" message.
   */
  readonly folding?: { readonly ddb: DynamoApi; readonly table: string; readonly subjectKey: string };
  readonly now?: () => Date;
}

export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SnsApi,
    private readonly topicArn: string,
    private readonly environment: string,
    /** Where the Markdown report of a drill is (added to the summary), when known. */
    private readonly reportLocation: (drillId: string) => string | null = () => null,
    private readonly options: SnsNotifierOptions = {},
  ) {}

  private context(drillId: string, executionArn?: string | null): PublishContext {
    const links: MessageLinks = {
      executionArn: executionArn ?? this.options.executionArn?.(drillId) ?? null,
      logs: this.options.logs ?? null,
      report: this.reportLocation(drillId),
    };
    return { source: this.options.source ?? null, links };
  }

  async publish(
    report: DrillReport,
    escalations: readonly Escalation[],
    links: { readonly executionArn?: string | null } = {},
  ): Promise<number> {
    let count = 0;
    const context = this.context(report.drillId, links.executionArn);
    const folding = this.options.folding;
    const now = this.options.now?.() ?? new Date();
    for (const escalation of escalations) {
      if (folding) {
        const target = { ...folding, sns: this.sns, topicArn: this.topicArn, environment: this.environment };
        const folded = await escalateFolded(target, folding.subjectKey, escalation, now, context);
        if (folded.published) count++;
        continue;
      }
      await publishEscalation(this.sns, this.topicArn, this.environment, escalation, context);
      count++;
    }
    if (folding && report.passed) {
      const target = { ...folding, sns: this.sns, topicArn: this.topicArn, environment: this.environment };
      for (const cls of DRILL_CLASSES) {
        const resolution = {
          class: cls,
          id: report.drillId,
          message: `Recovery drill ${report.drillId} passed: RPO ${report.rpoMinutes ?? '–'} min, RTO ${report.rtoMinutes ?? '–'} min.`,
          evidence: { rpoMinutes: report.rpoMinutes, rtoMinutes: report.rtoMinutes },
        };
        if (await resolveFolded(target, folding.subjectKey, resolution, now, context)) count++;
      }
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
            id: `drill#${report.drillId}`,
            content: {
              textType: 'client-markdown',
              title: `Recovery drill ${verdict} (${this.environment})`,
              description: text,
              keywords: [SUMMARY_CLASS, verdict, this.environment],
            },
            metadata: { summary: `Recovery drill ${report.drillId} ${verdict}`, eventType: SUMMARY_CLASS },
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
    requestedTarget: report.requestedTarget,
    targetTime: report.targetTime,
    restorePointAt: report.restorePointAt,
    restorePointSource: report.restorePointSource,
    heartbeat: report.heartbeat
      ? {
          status: report.heartbeat.status,
          newestAt: report.heartbeat.newestAt,
          expectedBy: report.heartbeat.expectedBy,
          boundMinutes: report.heartbeat.boundMinutes,
        }
      : null,
    rpoMinutes: report.rpoMinutes,
    rtoMinutes: report.rtoMinutes,
    targets: report.targets,
    escalations: report.escalations.map((e) => e.class),
    warnings: report.warnings,
  };
}
