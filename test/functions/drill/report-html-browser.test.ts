import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepOutcome } from '../../../functions/core/escalations.ts';
import { evaluateRecovery } from '../../../functions/core/evaluate.ts';
import { buildReport, type DrillReport } from '../../../functions/core/report.ts';
import { renderReportMarkdown } from '../../../functions/core/report-markdown.ts';
import { FolderReportStore } from '../../../functions/drill/adapters/local/reports.ts';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'test-artifacts');

/** A drill whose migration failed after a long restore: every outcome colour appears on the timeline. */
function failedMigrationDrill(): DrillReport {
  const start = Date.parse('2026-11-26T06:00:00Z');
  const at = (min: number) => new Date(start + min * 60_000).toISOString();
  const step = (
    name: StepOutcome['name'],
    from: number,
    to: number,
    outcome: StepOutcome['outcome'],
    detail: string,
  ) => ({
    name,
    startedAt: at(from),
    endedAt: at(to),
    outcome,
    detail,
  });
  const targets = { rpoMinutes: 60, rtoMinutes: 30 };
  return buildReport({
    drillId: '20261126t060000z-c0de',
    targetTime: at(0),
    restorePointAt: at(-3),
    startedAt: at(0),
    readyAt: null,
    endedAt: at(26),
    targets,
    steps: [
      step('validate', 0, 0.2, 'passed', 'restoring to latest'),
      step('restore', 0.2, 14, 'passed', 'restored into recovery-drill-20261126t060000z-c0de'),
      step('wait', 14, 18, 'passed', 'available'),
      step('connect', 18, 18.5, 'passed', 'connected'),
      step('detect-drift', 18.5, 19, 'passed', '1 pending migration'),
      step(
        'migrate',
        19,
        23,
        'failed',
        'migration 20261101_add_ledger failed: relation "Ledger" <already> exists',
      ),
      step('evaluate', 23, 23.5, 'warning', 'recovery-evaluate not called: the app never started'),
      step('cleanup', 23.5, 26, 'passed', 'deleted the drill instance'),
    ],
    evaluation: evaluateRecovery({
      targetTime: at(0),
      restorePointAt: at(-3),
      startedAt: at(0),
      readyAt: null,
      targets,
    }),
    environment: 'prod',
    mode: 'local',
    reason: 'quarterly <drill>',
  });
}

async function chromium(dataDir: string, args: string[]): Promise<string> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: this test opens the report in Debian's headless Chromium; install it with \`apt-get install chromium\` (\`.ci/run\` installs it when missing)`,
    );
  const { stdout } = await run(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${dataDir}`,
      ...args,
    ],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

describe('drill report HTML page in headless Chromium', () => {
  let dir: string;
  let page: string;
  const report = failedMigrationDrill();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'report-html-'));
    await new FolderReportStore(join(dir, 'reports')).write(report, renderReportMarkdown(report));
    page = pathToFileURL(join(dir, 'reports', `${report.drillId}.html`)).href;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('renders the timeline as SVG with one bar per step, in the DOM the browser built', async () => {
    const dom = await chromium(join(dir, 'profile-dom'), ['--dump-dom', page]);
    expect(dom).toMatch(/<svg [^>]*class="timeline"/);
    const bars = [...dom.matchAll(/<rect class="step-bar[^"]*" data-step="([^"]+)" data-outcome="([^"]+)"/g)];
    expect(bars.map((b) => [b[1], b[2]])).toEqual(report.steps.map((s) => [s.name, s.outcome]));
    expect(dom).toContain('FAILED');
    expect(dom).toContain('MIGRATION_FAILED (critical)');
    // Escaped text stays text: the browser built no <drill> or <already> element.
    expect(dom).not.toMatch(/<drill>|<already>/);
    expect(dom).toContain('quarterly &lt;drill&gt;');
  }, 90_000);

  it('keeps a 1200×900 screenshot of the page under test-artifacts/', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'report-html-timeline.png');
    rmSync(file, { force: true });
    await chromium(join(dir, 'profile-shot'), [`--screenshot=${file}`, '--window-size=1200,900', page]);
    const png = readFileSync(file);
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1200, 900]);
    // A blank page compresses to a few hundred bytes; the report with its timeline does not.
    expect(statSync(file).size).toBeGreaterThan(20_000);
  }, 90_000);
});
