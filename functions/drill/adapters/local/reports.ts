/** The local engine's report store and notifier: a folder plays the bucket, a file and the terminal play SNS. */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Escalation } from '../../../core/escalations.ts';
import { type HistoryIndex, historyEntryOf, parseHistoryIndex, withEntry } from '../../../core/history.ts';
import {
  type ChatbotNotification,
  type MessageAttributes,
  type MessageContext,
  renderEscalation,
} from '../../../core/messages.ts';
import type { DrillReport } from '../../../core/report.ts';
import { summaryLine } from '../../../core/report-markdown.ts';
import { withLock } from '../../../local/lock.ts';
import type { Notifier, ReportStore } from '../../ports/drill-deps.ts';
import { archiveReport, indexText } from '../report-archive.ts';

/** The index of every report in a reports folder, beside the reports. */
export const LOCAL_INDEX_FILE = 'index.json';

/** Writes a file whole or not at all: a temp name unique to this writer, then a rename. */
async function writeWhole(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Keeps every drill's report (JSON, Markdown, HTML page) in a folder with an index, like the
 * bucket does in AWS. Before writing, the report is compared with the previous measured drill in
 * the index and the comparison joins its deviations.
 */
export class FolderReportStore implements ReportStore {
  constructor(private readonly dir: string) {}

  /**
   * The index. A folder of reports written before the index existed is indexed from its JSON
   * reports, so `history --local` shows every drill this machine ran; no folder, no history.
   */
  async readIndex(): Promise<HistoryIndex> {
    let text: string;
    try {
      text = await readFile(join(this.dir, LOCAL_INDEX_FILE), 'utf8');
    } catch {
      return this.indexFromReports();
    }
    try {
      return parseHistoryIndex(JSON.parse(text));
    } catch {
      return this.indexFromReports();
    }
  }

  private async indexFromReports(): Promise<HistoryIndex> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    let index = parseHistoryIndex(null);
    for (const name of names) {
      if (!name.endsWith('.json') || name === LOCAL_INDEX_FILE) continue;
      try {
        const report = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as DrillReport;
        if (typeof report.drillId === 'string' && Array.isArray(report.escalations))
          index = withEntry(index, historyEntryOf(report));
      } catch {
        // Not a report (or torn): the index lists drills, it does not judge files.
      }
    }
    return index;
  }

  /**
   * Returns the JSON and Markdown paths; the HTML page is beside them as `<drill id>.html`. Drills
   * finishing together all land in the index: each writer adds its entry to the index as it is
   * under the folder's lock (`index.json.lock`), never over what another writer just added.
   */
  async write(report: DrillReport, markdown: string): Promise<{ json: string; markdown: string }> {
    await mkdir(this.dir, { recursive: true });
    const json = join(this.dir, `${report.drillId}.json`);
    const md = join(this.dir, `${report.drillId}.md`);
    const paths = { json, markdown: md, html: join(this.dir, `${report.drillId}.html`) };
    const indexPath = join(this.dir, LOCAL_INDEX_FILE);
    await archiveReport(
      {
        readIndex: () => this.readIndex(),
        put: (document, text) => writeWhole(paths[document], text),
        addToIndex: (entry) =>
          withLock(
            `${indexPath}.lock`,
            `index entry of drill ${report.drillId}`,
            // Read again under the lock (a damaged index is rebuilt from the reports, this one included).
            async () => writeWhole(indexPath, indexText(await this.readIndex(), entry)),
            { waitMs: 120_000 },
          ),
      },
      report,
      markdown,
    );
    return { json, markdown: md };
  }
}

/** What the local notifier published, one JSON object per line in `notifications.jsonl`. */
export interface LocalNotification {
  readonly kind: 'escalation' | 'summary';
  readonly subject: string;
  readonly drillId: string;
  readonly escalation?: Escalation;
  /** The same text an email subscriber gets (escalations only). */
  readonly text?: string;
  /** The same attributes SNS carries (escalations only). */
  readonly attributes?: MessageAttributes;
  /** The AWS Chatbot notification Slack would get (escalations only). */
  readonly chatbot?: ChatbotNotification;
  readonly at: string;
}

/**
 * The local stand-in for SNS: each escalation rendered exactly as on AWS (subject, text, Chatbot
 * JSON, attributes) into `notifications.jsonl` and onto the terminal, so a local drill shows the
 * message on-call would read.
 */
export class RecordingNotifier implements Notifier {
  constructor(
    private readonly file: string,
    private readonly print: (text: string) => void,
    /**
     * Where a drill's Markdown report is; by default `reports/<drillId>.md` beside the
     * notifications file (the local engine's layout), named only when it exists.
     */
    private readonly reportPath: (drillId: string) => string | null = (drillId) => {
      const path = join(dirname(file), 'reports', `${drillId}.md`);
      return existsSync(path) ? path : null;
    },
    /**
     * Where a drill's logs are (the report's evidence: migrate.log, app.log, restore-postgres.log);
     * by default `drills/<drillId>/` beside the notifications file, named only when it exists.
     */
    private readonly logsPath: (drillId: string) => string | null = (drillId) => {
      const path = join(dirname(file), 'drills', drillId);
      return existsSync(path) ? path : null;
    },
  ) {}

  async publish(report: DrillReport, escalations: readonly Escalation[]): Promise<number> {
    const at = new Date().toISOString();
    const context: MessageContext = {
      environment: report.environment ?? 'local',
      source: report.mode === 'local' || report.mode === null ? 'local source' : null,
      links: { report: this.reportPath(report.drillId), logs: this.logsPath(report.drillId) },
    };
    const messages: LocalNotification[] = escalations.map((escalation) => {
      const rendered = renderEscalation(escalation, context);
      return {
        kind: 'escalation',
        subject: rendered.subject,
        drillId: report.drillId,
        escalation,
        text: rendered.text,
        attributes: rendered.attributes,
        chatbot: rendered.chatbot,
        at,
      };
    });
    messages.push({
      kind: 'summary',
      subject: `Recovery ${summaryLine(report)}`,
      drillId: report.drillId,
      at,
    });
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, messages.map((m) => `${JSON.stringify(m)}\n`).join(''));
    for (const message of messages)
      this.print(message.text ? `${message.subject}\n${message.text}` : message.subject);
    return messages.length;
  }
}
