/** The local engine's report store and notifier: a folder plays the bucket, a file and the terminal play SNS. */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Escalation } from '../../core/escalations.ts';
import type { DrillReport } from '../../core/report.ts';
import type { Notifier, ReportStore } from '../ports.ts';

export class FolderReportStore implements ReportStore {
  constructor(private readonly dir: string) {}

  async write(report: DrillReport, markdown: string): Promise<{ json: string; markdown: string }> {
    await mkdir(this.dir, { recursive: true });
    const json = join(this.dir, `${report.drillId}.json`);
    const md = join(this.dir, `${report.drillId}.md`);
    await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(md, markdown);
    return { json, markdown: md };
  }
}

/** What the local notifier published, one JSON object per line in `notifications.jsonl`. */
export interface LocalNotification {
  readonly kind: 'escalation' | 'summary';
  readonly subject: string;
  readonly drillId: string;
  readonly escalation?: Escalation;
  readonly at: string;
}

export class RecordingNotifier implements Notifier {
  constructor(
    private readonly file: string,
    private readonly print: (text: string) => void,
  ) {}

  async publish(report: DrillReport, escalations: readonly Escalation[]): Promise<number> {
    const at = new Date().toISOString();
    const messages: LocalNotification[] = escalations.map((escalation) => ({
      kind: 'escalation',
      subject: `[${escalation.severity.toUpperCase()}] ${escalation.class} in drill ${report.drillId}`,
      drillId: report.drillId,
      escalation,
      at,
    }));
    messages.push({
      kind: 'summary',
      subject: `Recovery drill ${report.drillId} ${report.passed ? 'passed' : 'FAILED'}: RPO ${report.rpoMinutes ?? '–'} min, RTO ${report.rtoMinutes ?? '–'} min`,
      drillId: report.drillId,
      at,
    });
    await mkdir(join(this.file, '..'), { recursive: true });
    await appendFile(this.file, messages.map((m) => `${JSON.stringify(m)}\n`).join(''));
    for (const message of messages) {
      this.print(message.escalation ? `${message.subject}: ${message.escalation.message}` : message.subject);
    }
    return messages.length;
  }
}
