/**
 * How a drill's report is archived, whatever holds the archive (the backup bucket in AWS, a folder
 * locally): compared with the previous measured drill of the index, written as JSON, Markdown and
 * an HTML page, then entered in the index. One flow, so the two stores cannot drift apart.
 */
import {
  type HistoryEntry,
  type HistoryIndex,
  historyEntryOf,
  previousMeasured,
  withEntry,
  withPreviousComparison,
} from '../../core/history.ts';
import type { DrillReport } from '../../core/report.ts';
import { renderReportHtml } from '../../core/report-html.ts';
import { renderReportMarkdown } from '../../core/report-markdown.ts';

/** The three documents of a report. */
export type ReportDocument = 'json' | 'markdown' | 'html';

/** What a store offers the archiving flow. */
export interface ReportArchive {
  /** The index as it is; null when it cannot be read (the report is written, the index left alone). */
  readIndex(): Promise<HistoryIndex | null>;
  /** Writes one document of the report whole. */
  put(document: ReportDocument, text: string): Promise<void>;
  /**
   * Enters the report in the index. `read` is the index the report was compared with; a store
   * that can lock the index reads it again under the lock instead.
   */
  addToIndex(entry: HistoryEntry, read: HistoryIndex): Promise<void>;
}

/** The index document with one more entry, as it is stored. */
export function indexText(index: HistoryIndex, entry: HistoryEntry): string {
  return `${JSON.stringify(withEntry(index, entry), null, 2)}\n`;
}

/**
 * Archives a report: compares it with the previous measured drill (its deviations join the
 * report), writes its documents, then adds it to the index. Returns the report as archived.
 */
export async function archiveReport(
  archive: ReportArchive,
  report: DrillReport,
  markdown: string,
): Promise<DrillReport> {
  const index = await archive.readIndex();
  const compared = index ? withPreviousComparison(report, previousMeasured(index, report)) : report;
  await archive.put('json', `${JSON.stringify(compared, null, 2)}\n`);
  await archive.put('markdown', compared === report ? markdown : renderReportMarkdown(compared));
  await archive.put('html', renderReportHtml(compared));
  if (index) await archive.addToIndex(historyEntryOf(compared), index);
  return compared;
}
