/**
 * The local reports index when drills finish together: every writer adds its entry under the
 * folder's lock, on unique temp names, merging with what the others wrote, in separate processes as
 * two CLI drills are. A damaged index is rebuilt from the reports beside it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FolderReportStore, LOCAL_INDEX_FILE } from '../../../functions/drill/adapters/local/reports.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'rd-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A process that writes one drill's report into `folder` at `at` (Unix ms), as a finishing drill does. */
const WRITER = `
import { buildReport } from ${JSON.stringify(join(REPO, 'functions/core/report.ts'))};
import { renderReportMarkdown } from ${JSON.stringify(join(REPO, 'functions/core/report-markdown.ts'))};
import { FolderReportStore } from ${JSON.stringify(join(REPO, 'functions/drill/adapters/local/reports.ts'))};
const [folder, drillId, at] = process.argv.slice(2);
const report = buildReport({
  drillId,
  targetTime: '2026-11-26T10:00:00.000Z',
  restorePointAt: null,
  startedAt: new Date().toISOString(),
  readyAt: null,
  endedAt: new Date().toISOString(),
  targets: { rpoMinutes: 60, rtoMinutes: 30 },
  steps: [{ name: 'restore', startedAt: '2026-11-26T10:00:00Z', endedAt: '2026-11-26T10:00:01Z', outcome: 'failed', detail: 'boom' }],
  evaluation: null,
  mode: 'local',
});
await new Promise((r) => setTimeout(r, Math.max(0, Number(at) - Date.now())));
await new FolderReportStore(folder).write(report, renderReportMarkdown(report));
`;

function writers(folder: string, ids: string[]): Promise<number[]> {
  const script = join(dir, 'writer.mts');
  writeFileSync(script, WRITER);
  // Every writer waits for the same moment, so their writes overlap.
  const at = String(Date.now() + 4000);
  return Promise.all(
    ids.map(
      (id) =>
        new Promise<number>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', script, folder, id, at], {
            cwd: REPO,
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          child.once('exit', (code) => resolve(code ?? -1));
        }),
    ),
  );
}

const indexed = (folder: string) =>
  (
    JSON.parse(readFileSync(join(folder, LOCAL_INDEX_FILE), 'utf8')) as { drills: { drillId: string }[] }
  ).drills
    .map((d) => d.drillId)
    .sort();

describe('local reports index', () => {
  it('keeps every entry when 8 drills in 8 processes write their reports at once', async () => {
    const folder = join(dir, 'eight');
    const ids = Array.from({ length: 8 }, (_, i) => `drill-${i}`);
    expect(await writers(folder, ids)).toEqual(ids.map(() => 0));
    expect(indexed(folder)).toEqual(ids);
    // No temp file or lock is left behind.
    expect(readdirSync(folder).filter((n) => n.endsWith('.tmp') || n.endsWith('.lock'))).toEqual([]);
  }, 60_000);

  it('rebuilds a damaged index from the reports and adds the new one', async () => {
    const folder = join(dir, 'eight');
    writeFileSync(join(folder, LOCAL_INDEX_FILE), '{"version":1,"drills":[{"drillId":');
    expect(await writers(folder, ['drill-8'])).toEqual([0]);
    expect(indexed(folder)).toEqual([...Array.from({ length: 8 }, (_, i) => `drill-${i}`), 'drill-8']);
    expect((await new FolderReportStore(folder).readIndex()).drills).toHaveLength(9);
  }, 60_000);
});
